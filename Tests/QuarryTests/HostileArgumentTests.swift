import Foundation
import Quarry
import QuarryIndex
import Testing

/// The real `quarry` binary given arguments past every bound: each run ends with an error
/// status and a message, never a signal, and the collection it was pointed at is unchanged.
@Suite struct HostileArgumentTests {
    let temporary = TemporaryDirectory()
    let binary = repositoryRoot.appendingPathComponent(".build/debug/quarry").path

    @Test func outOfRangeNumbersGetErrorsNotTraps() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: binary), "build the quarry product first")
        let data = try Dataset(in: temporary.path, count: 400)
        let directory = temporary.path + "/c"
        let collection = try QuarryCollection.create(at: directory, dimension: Dataset.dimension, listCount: 8)
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        let before = try collection.search(collection.prepare(int8: data.query(0)), k: 10, nprobe: 8)
        let huge = "9223372036854775807"
        let cases: [[String]] = [
            ["search", directory, "--vectors", data.queryPath, "-k", huge],
            ["search", directory, "--vectors", data.queryPath, "-k", "-3"],
            ["search", directory, "--vectors", data.queryPath, "--oversample", "1e300"],
            ["search", directory, "--vectors", data.queryPath, "--oversample", "nan"],
            ["search", directory, "--vectors", data.queryPath, "--oversample", "inf"],
            ["search", directory, "--vectors", data.queryPath, "--nprobe", huge],
            ["search", directory, "--vectors", data.queryPath, "--threads", huge],
            ["search", directory, "--vectors", data.queryPath, "--threads", "0"],
            ["neighbors", directory, "--key", "3", "-k", huge],
            ["neighbors", directory, "--key", String(repeating: "k", count: 100_000)],
            ["eval", directory, "--queries", data.queryPath, "--exact", "-k", huge, "--nprobe", "2"],
            ["eval", directory, "--queries", data.queryPath, "--exact", "--limit", "-5"],
            ["eval", directory, "--queries", data.queryPath, "--exact", "--oversample", "1e300", "--nprobe", "2"],
            ["tune", directory, "--target-recall", "nan", "--dry-run"],
            ["tune", directory, "--target-recall", "0.9", "--sample", huge, "--dry-run"],
            ["tune", directory, "--target-recall", "0.9", "-k", huge, "--dry-run"],
            ["ingest", directory, "--vectors", data.basePath, "--batch-size", "0"],
            ["ingest", directory, "--vectors", data.basePath, "--batch-size", huge],
            ["create", temporary.path + "/wide", "--dims", huge],
            ["create", temporary.path + "/wide", "--dims", "40000"],
            ["create", temporary.path + "/lists", "--dims", "8", "--nlist", huge],
            ["create", temporary.path + "/spill", "--dims", "8", "--spill", "--spill-penalty", "1e308"],
            ["bench", "synth", "--n", huge, "--dims", "8", "--out", temporary.path + "/s.npy"],
            ["bench", "synth", "--n", "10", "--dims", "8", "--queries", huge, "--out", temporary.path + "/s.npy"],
            ["bench", "synth", "--n", "10", "--dims", "8", "--clusters", "0", "--out", temporary.path + "/s.npy"],
            [
                "embed", "--model", miniLMPath, "--input", data.queryPath, "--output", temporary.path + "/e.npy",
                "--dims", huge,
            ],
            [
                "embed", "--model", miniLMPath, "--input", data.queryPath, "--output", temporary.path + "/e.npy",
                "--max-tokens", huge,
            ],
        ]
        for arguments in cases {
            let result = try await runQuarry(arguments)
            // 1: an error the command reported; 64: a usage error. A trap ends with its signal's
            // number (4, 5, 6, 11) instead.
            #expect([1, 64].contains(result.status), "\(arguments.prefix(6)): \(result.errors.suffix(300))")
            #expect(!result.errors.isEmpty, "\(arguments.prefix(6))")
            #expect(!result.errors.contains("Fatal error"), "\(arguments.prefix(6)): \(result.errors.suffix(300))")
        }
        let after = try collection.search(collection.prepare(int8: data.query(0)), k: 10, nprobe: 8)
        #expect(after == before)
        #expect(try collection.vectorCount() == 400)
    }
}
