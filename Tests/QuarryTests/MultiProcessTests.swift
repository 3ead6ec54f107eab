import Foundation
import Quarry
import QuarryIndex
import QuarryStore
import QuarryTestSupport
import Testing

/// The debug `quarry` binary.
let quarryBinary = repositoryRoot.appendingPathComponent(".build/debug/quarry").path

/// Runs the debug `quarry` binary; returns its exit status, standard output and standard error.
func runQuarry(_ arguments: [String], environment: [String: String] = [:]) async throws -> (
    status: Int32, output: String, errors: String
) {
    let outcome = try await runProcess(quarryBinary, arguments, environment: environment)
    return (outcome.status, outcome.output, outcome.errors)
}

/// One collection open in this process while the `quarry` binary, another process, writes to
/// it: this process sees the other's commits without reopening, never trains over its index,
/// and keeps what each process recorded in the manifest.
@Suite struct TwoProcessTests {
    let temporary = TemporaryDirectory()
    var directory: String { temporary.path }

    /// Keys "prefix0", "prefix1", … for `count` rows, written to a file.
    func keysFile(_ prefix: String, count: Int) throws -> String {
        let path = directory + "/keys-\(prefix).txt"
        try writeLines((0..<count).map { "\(prefix)\($0)" }, to: path)
        return path
    }

    /// Whether the approximate top 10 for `row` of `data` holds `key`.
    func finds(_ collection: QuarryCollection, _ data: Dataset, row: Int, key: String) throws -> Bool {
        let hits = try collection.search(try collection.prepare(int8: data.row(row)), k: 10, nprobe: 16, oversample: 16)
        return hits.contains { $0.key == key }
    }

    @Test func aSearchSeesAnotherProcessesIngestsWithoutReopening() async throws {
        let first = try Dataset(in: directory, count: 2000, seed: 11)
        let second = try Dataset(in: directory, count: 1000, seed: 12)
        let path = directory + "/c"
        let collection = try QuarryCollection.create(at: path, dimension: Dataset.dimension, listCount: 16)
        #expect(try collection.search(try collection.prepare(int8: first.row(5)), k: 10).isEmpty)

        // The other process's first ingest trains the collection.
        let trained = try await runQuarry(["ingest", path, "--vectors", first.basePath, "--batch-size", "500"])
        #expect(trained.status == 0, "\(trained.errors)")
        #expect(collection.manifest.listCount == 16 && collection.manifest.trainingSize == 2000)
        for row in [0, 5, 1999] { #expect(try finds(collection, first, row: row, key: "\(row)")) }

        // A later ingest there adds vectors this process finds at once.
        let added = try await runQuarry([
            "ingest", path, "--vectors", second.basePath, "--keys", try keysFile("b", count: 1000),
        ])
        #expect(added.status == 0, "\(added.errors)")
        for row in [0, 500, 999] { #expect(try finds(collection, second, row: row, key: "b\(row)")) }
        #expect(try collection.vectorCount() == 3000)
        #expect(try collection.checkIntegrity().isConsistent)
    }

    @Test func anIngestHereAfterAnotherProcessTrainedKeepsItsLists() async throws {
        let first = try Dataset(in: directory, count: 2000, seed: 13)
        let second = try Dataset(in: directory, count: 700, seed: 14)
        let path = directory + "/c"
        // Opened (untrained) here before the other process trains it.
        let collection = try QuarryCollection.create(at: path, dimension: Dataset.dimension, listCount: 16)
        #expect(collection.manifest.listCount == 0)
        #expect(try await runQuarry(["ingest", path, "--vectors", first.basePath]).status == 0)

        let report = try collection.ingest(
            vectors: VectorFile(path: second.basePath), keys: (0..<700).map { "b\($0)" })
        #expect(report.added == 700 && report.trainSeconds == 0)
        // Still the other process's training: the same size, and its vectors still found.
        #expect(collection.manifest.trainingSize == 2000)
        let integrity = try collection.checkIntegrity()
        #expect(integrity.isConsistent && integrity.vectors == 2700, "\(integrity.problems)")
        for row in [3, 1500] { #expect(try finds(collection, first, row: row, key: "\(row)")) }
        for row in [0, 699] { #expect(try finds(collection, second, row: row, key: "b\(row)")) }
    }

    @Test func tunedDefaultsSurviveAnIngestByAProcessThatOpenedBeforeTheTune() async throws {
        let base = try Dataset(in: directory, count: 2000, seed: 15)
        let path = directory + "/c"
        let collection = try QuarryCollection.create(at: path, dimension: Dataset.dimension, listCount: 16)
        try collection.ingest(vectors: VectorFile(path: base.basePath))
        #expect(collection.manifest.quantization == nil)

        let tuned = try await runQuarry(["tune", path, "--sample", "40", "--target-recall", "0.9"])
        #expect(tuned.status == 0, "\(tuned.errors)")
        let recorded = try QuarryCollection.open(at: path).manifest
        #expect(recorded.defaultProbeCount != nil && recorded.defaultOversample != nil)

        // Float input here records a quantization: a manifest change of this process's own.
        let floats = directory + "/floats.npy"
        try writeNPY(
            path: floats, type: .float32, rows: 100, columns: Dataset.dimension,
            values: base.base.prefix(100 * Dataset.dimension).map { Float($0) / 127 })
        try collection.ingest(vectors: VectorFile(path: floats), keys: (0..<100).map { "f\($0)" })
        let after = try await runQuarry(["stats", path, "--json"])
        #expect(after.status == 0)
        let manifest = collection.manifest
        #expect(manifest.quantization != nil)
        #expect(
            manifest.defaultProbeCount == recorded.defaultProbeCount
                && manifest.defaultOversample == recorded.defaultOversample
                && manifest.defaultPrefilter == recorded.defaultPrefilter)
        let defaults = try collection.searchParameters(k: 10, nprobe: nil, oversample: nil)
        #expect(defaults.nprobe == recorded.defaultProbeCount)
    }

    @Test func tunedDefaultsSurviveADocumentIngestByAProcessThatOpenedBeforeTheTune() async throws {
        let embedder = try sharedEmbedder.get()
        let path = directory + "/docs"
        let collection = try QuarryCollection.create(at: path, dimension: embedder.dimension, listCount: 2)
        var options = DocumentIngestOptions()
        options.batchSize = 8
        options.trainingBatchSize = 8
        let all = sampleDocuments(count: 24)
        try writeLines(Array(all.prefix(16)), to: directory + "/a.jsonl")
        try writeLines(Array(all.suffix(8)), to: directory + "/b.jsonl")
        try collection.ingestDocuments(
            from: CrawlRecordReader(path: directory + "/a.jsonl"), embedder: embedder, modelPath: miniLMPath,
            options: options)

        let tuned = try await runQuarry(["tune", path, "--sample", "16", "-k", "3", "--target-recall", "0.9"])
        #expect(tuned.status == 0, "\(tuned.errors)")
        let recorded = try await runQuarry(["stats", path, "--json"])
        #expect(recorded.status == 0)
        let probes = try #require(collection.manifest.defaultProbeCount)

        try collection.ingestDocuments(
            from: CrawlRecordReader(path: directory + "/b.jsonl"), embedder: embedder, modelPath: miniLMPath,
            options: options)
        #expect(try collection.documentCount() == 24)
        let reopened = try await runQuarry(["search", path, "--text", "chess", "-k", "3", "--json"])
        #expect(reopened.status == 0)
        #expect(collection.manifest.defaultProbeCount == probes && collection.manifest.model == miniLMPath)
    }

    @Test func documentsUpsertedElsewhereDuringAVectorIngestHereDoNotStopIt() async throws {
        let dimension = 384  // the default model's, so the documents fit the collection
        let synth = SyntheticEmbeddings(dimension: dimension, clusterCount: 8, seed: 21)
        let vectors = directory + "/vectors.npy"
        try writeNPY(
            path: vectors, type: .int8, rows: 2000, columns: dimension, values: synth.int8Rows(first: 0, count: 2000))
        let docs = directory + "/docs.jsonl"
        try writeLines(sampleDocuments(count: 8), to: docs)
        let path = directory + "/c"
        let collection = try QuarryCollection.create(at: path, dimension: dimension, listCount: 8)
        var options = IngestOptions()
        options.batchSize = 500
        nonisolated(unsafe) var upserted: Int32 = -1
        options.progress = { line in
            // After the first committed batch, another process adds documents, which records
            // the model and a float quantization in the manifest.
            if line.hasPrefix("ingest: 500/") {
                upserted =
                    (try? ChildProcess(quarryBinary, ["ingest", path, "--docs", docs, "--model", miniLMPath]))?
                    .finishHere().status ?? -2
            }
        }
        // Off the cooperative pool: the callback waits for the child.
        let report = try await offPool { [options] in
            try collection.ingest(vectors: VectorFile(path: vectors), options: options)
        }
        #expect(upserted == 0 && report.added == 2000)
        #expect(collection.manifest.model == miniLMPath && collection.manifest.quantization != nil)
        let integrity = try collection.checkIntegrity()
        #expect(integrity.isConsistent && integrity.documents == 8, "\(integrity.problems)")
        #expect(integrity.vectors == 2000 + 8)
    }

    @Test func compactIsRefusedWhileAnotherProcessHasTheCollectionOpen() async throws {
        let base = try Dataset(in: directory, count: 3000, seed: 16)
        let path = directory + "/c"
        let before: [Hit]
        do {
            let collection = try QuarryCollection.create(at: path, dimension: Dataset.dimension, listCount: 16)
            try collection.ingest(vectors: VectorFile(path: base.basePath))
            let deleted = directory + "/deleted.txt"
            try writeLines((0..<1000).map(String.init), to: deleted)
            try collection.delete(
                keys: try String(contentsOfFile: deleted, encoding: .utf8).split(separator: "\n").map(String.init))
            before = try collection.search(try collection.prepare(int8: base.row(2000)), k: 10)

            let refused = try await runQuarry(["compact", path])
            #expect(refused.status == 1 && refused.errors.contains("in use"), "\(refused.errors)")
            #expect(try collection.vectorCount() == 2000)
        }
        // Closed here: compaction goes ahead and keeps every vector.
        let compacted = try await runQuarry(["compact", path])
        #expect(compacted.status == 0, "\(compacted.errors)")
        let reopened = try QuarryCollection.open(at: path)
        let integrity = try reopened.checkIntegrity()
        #expect(integrity.isConsistent && integrity.vectors == 2000, "\(integrity.problems)")
        #expect(try reopened.search(try reopened.prepare(int8: base.row(2000)), k: 10) == before)
        for row in [1000, 2999] { #expect(try reopened.storedVector(key: "\(row)") == base.row(row)) }
    }

    @Test func compactionKeepsEveryDocument() async throws {
        let path = directory + "/docs"
        let docs = directory + "/docs.jsonl"
        try writeLines(sampleDocuments(count: 24), to: docs)
        let ingested = try await runQuarry(["ingest", path, "--docs", docs, "--model", miniLMPath, "--batch-size", "8"])
        #expect(ingested.status == 0, "\(ingested.errors)")
        let compacted = try await runQuarry(["compact", path])
        #expect(compacted.status == 0, "\(compacted.errors)")
        let collection = try QuarryCollection.open(at: path)
        let integrity = try collection.checkIntegrity()
        #expect(integrity.isConsistent && integrity.documents == 24, "\(integrity.problems)")
        for index in 0..<24 {
            #expect(try collection.document(key: "doc-\(index)")?.text.contains("Document \(index) ") == true)
        }
    }

    @Test func anOpenIsRefusedWhileACompactionHoldsTheCollection() async throws {
        let path = directory + "/c"
        do { _ = try QuarryCollection.create(at: path, dimension: Dataset.dimension) }
        do {
            let compaction = try DirectoryLock(directory: path, mode: .exclusive)
            #expect(compaction.mode == .exclusive)
            #expect(throws: StoreError.self) { try QuarryCollection.open(at: path) }
            let elsewhere = try await runQuarry(["stats", path])
            #expect(elsewhere.status == 1 && elsewhere.errors.contains("being compacted"), "\(elsewhere.errors)")
        }
        // Released: opens go ahead again.
        #expect(try await runQuarry(["stats", path]).status == 0)
        #expect(try QuarryCollection.open(at: path).manifest.dimension == Dataset.dimension)
    }
}
