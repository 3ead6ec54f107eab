import Foundation
import Quarry
import QuarryIndex
import Testing

/// Short runs of the crash and fault harnesses in scripts/harness (their long runs are one
/// command each; see scripts/harness/README.md), against the debug `quarry` binary.
@Suite struct HarnessTests {
    let temporary = TemporaryDirectory()

    /// Runs `scripts/harness/NAME` with python3; returns its exit status and output.
    func harness(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3", repositoryRoot.appendingPathComponent("scripts/harness/" + name).path, "--binary",
                repositoryRoot.appendingPathComponent(".build/debug/quarry").path,
            ] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func killedVectorIngestsLeaveWholeCommittedBatchesAndResume() throws {
        let run = try harness(
            "sigkill.py",
            ["--mode", "vectors", "--kills", "3", "--rows", "4000", "--dims", "32", "--batch", "400", "--spill"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("vectors: 3 kills survived of 3 made"), "\(run.output)")
        #expect(run.output.contains("vectors-spill: 3 kills survived of 3 made"), "\(run.output)")
    }

    @Test func searchesSeeWholeBatchesWhileTwoProcessesWrite() throws {
        let run = try harness(
            "concurrency.py",
            [
                "--vectors", "2000", "--group", "4", "--batch", "200", "--nlist", "8", "--nprobe", "8", "--threads",
                "3",
                "--documents", "8",
            ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("torn: 0, regressions: 0, errors: 0"), "\(run.output)")
    }

    /// On main the server crashed at the second search after a failed remap (LMDB keeps no map).
    @Test func aFailedMapResizeLeavesTheServerUpWithClearErrors() throws {
        let run = try harness("remapfail.py", [])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("search after 3: 500"), "\(run.output)")
    }

    @Test func aFullMapFailsTheIngestClearlyAndKeepsWhatWasCommitted() throws {
        let small = try Dataset(in: temporary.path, count: 500)
        let large = try Dataset(in: temporary.path, count: 30_000, seed: 9)
        let path = temporary.path + "/c"
        let capped = [QuarryCollection.maxMapSizeVariable: "2"]
        #expect(
            try runQuarry(["create", path, "--dims", "\(Dataset.dimension)", "--nlist", "8"], environment: capped)
                .status == 0)
        #expect(try runQuarry(["ingest", path, "--vectors", small.basePath], environment: capped).status == 0)
        let keys = temporary.path + "/large-keys.txt"
        try writeLines((0..<30_000).map { "L\($0)" }, to: keys)
        let full = try runQuarry(
            ["ingest", path, "--vectors", large.basePath, "--keys", keys, "--batch-size", "2000"], environment: capped)
        #expect(full.status == 1, "\(full.errors)")
        #expect(full.errors.contains("is full") && full.errors.contains("intact"), "\(full.errors)")

        let collection = try QuarryCollection.open(at: path)
        let integrity = try collection.checkIntegrity()
        #expect(integrity.isConsistent, "\(integrity.problems)")
        #expect(integrity.vectors >= 500 && integrity.vectors < 30_500 && (integrity.vectors - 500) % 2000 == 0)
        for row in [0, 250, 499] { #expect(try collection.storedVector(key: "\(row)") == small.row(row)) }
        let hits = try collection.search(try collection.prepare(int8: small.query(0)), k: 5)
        #expect(hits.count == 5)
    }
}
