import Foundation
import Quarry
import QuarryIndex
import QuarryTestSupport
import Testing

/// Short runs of the crash and fault harnesses in scripts/harness (their long runs are one
/// command each; see scripts/harness/README.md), against the debug `quarry` binary.
@Suite struct HarnessTests {
    let temporary = TemporaryDirectory()

    /// Runs `scripts/harness/NAME` with python3; returns its exit status and output.
    func harness(_ name: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let outcome = try await runProcess(
            "/usr/bin/env",
            [
                "python3", repositoryRoot.appendingPathComponent("scripts/harness/" + name).path, "--binary",
                quarryBinary,
            ]
                + arguments, mergingErrors: true)
        return (outcome.status, outcome.output)
    }

    @Test func killedVectorIngestsLeaveWholeCommittedBatchesAndResume() async throws {
        let run = try await harness(
            "sigkill.py",
            ["--mode", "vectors", "--kills", "3", "--rows", "4000", "--dims", "32", "--batch", "400", "--spill"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("vectors: 3 kills survived of 3 made"), "\(run.output)")
        #expect(run.output.contains("vectors-spill: 3 kills survived of 3 made"), "\(run.output)")
    }

    @Test func searchesSeeWholeBatchesWhileTwoProcessesWrite() async throws {
        let run = try await harness(
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
    @Test func aFailedMapResizeLeavesTheServerUpWithClearErrors() async throws {
        let run = try await harness("remapfail.py", [])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("search after 3: 500"), "\(run.output)")
    }

    @Test func aFullMapFailsTheIngestClearlyAndKeepsWhatWasCommitted() async throws {
        let small = try Dataset(in: temporary.path, count: 500)
        let large = try Dataset(in: temporary.path, count: 30_000, seed: 9)
        let path = temporary.path + "/c"
        let capped = [QuarryCollection.maxMapSizeVariable: "2"]
        #expect(
            try await runQuarry(
                ["create", path, "--dims", "\(Dataset.dimension)", "--nlist", "8"], environment: capped
            )
            .status == 0)
        #expect(try await runQuarry(["ingest", path, "--vectors", small.basePath], environment: capped).status == 0)
        let keys = temporary.path + "/large-keys.txt"
        try writeLines((0..<30_000).map { "L\($0)" }, to: keys)
        let full = try await runQuarry(
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
