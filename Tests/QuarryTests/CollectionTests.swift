import Foundation
@testable import Quarry
import QuarryIndex
import Testing

/// A temporary directory removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "quarry-test-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Synthetic INT8 data written to .npy files, with exact ground truth by brute force.
struct Dataset {
    static let dimension = 96
    let base: [Int8]
    let queries: [Int8]
    let count: Int
    let basePath: String
    let queryPath: String

    init(in directory: String, count: Int = 3000, queries queryCount: Int = 20, seed: UInt64 = 5) throws {
        let synth = SyntheticEmbeddings(dimension: Self.dimension, clusterCount: 30, seed: seed)
        self.count = count
        base = synth.int8Rows(first: 0, count: count)
        queries = synth.int8Rows(first: 0, count: queryCount, queries: true)
        basePath = directory + "/base-\(seed)-\(count).npy"
        queryPath = directory + "/queries-\(seed).npy"
        try writeNPY(path: basePath, type: .int8, rows: count, columns: Self.dimension, values: base)
        try writeNPY(path: queryPath, type: .int8, rows: queryCount, columns: Self.dimension, values: queries)
    }

    func query(_ q: Int) -> [Int8] { Array(queries[q * Self.dimension..<(q + 1) * Self.dimension]) }
    func row(_ r: Int) -> [Int8] { Array(base[r * Self.dimension..<(r + 1) * Self.dimension]) }
}

@Suite struct CollectionTests {
    let temporary = TemporaryDirectory()
    var directory: String { temporary.path }

    func makeCollection(_ name: String = "c", listCount: Int? = 24) throws -> QuarryCollection {
        try QuarryCollection.create(at: directory + "/" + name, dimension: Dataset.dimension, listCount: listCount)
    }

    @Test func ingestThenSearchFindsExactNeighbours() throws {
        let data = try Dataset(in: directory)
        let collection = try makeCollection()
        let report = try collection.ingest(vectors: VectorFile(path: data.basePath))
        #expect(report.added == data.count)
        #expect(try collection.vectorCount() == data.count)
        #expect(collection.manifest.listCount == 24)
        var recall = 0.0
        for q in 0..<20 {
            let query = try collection.prepare(int8: data.query(q))
            let exact = try collection.exactSearch(query, k: 10)
            let approximate = try collection.search(query, k: 10, nprobe: 8, oversample: 32)
            #expect(exact.count == 10 && approximate.count == 10)
            recall += RetrievalMetrics.recall(retrieved: approximate.map(\.key), truth: exact.map(\.key), k: 10)
            // Probing every list and rescoring every candidate is exact.
            let everything = try collection.search(query, k: 10, nprobe: 24, oversample: Double(data.count))
            #expect(everything.map(\.key) == exact.map(\.key))
        }
        #expect(recall / 20 >= 0.85)
    }

    @Test func aStoredVectorIsItsOwnNearestNeighbour() throws {
        let data = try Dataset(in: directory)
        let collection = try makeCollection()
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        for row in [0, 17, 2999] {
            let hits = try collection.search(collection.prepare(int8: data.row(row)), k: 1, nprobe: 4, oversample: 16)
            #expect(hits.first?.key == String(row))
            #expect(abs((hits.first?.score ?? 0) - 1) < 1e-5)
        }
    }

    /// Searches remember where record segments and list blocks sit while nothing is committed:
    /// an ingest that rewrites them (appending records and codes) must not leave later searches
    /// reading the old places.
    @Test func searchesAfterAnIngestReadTheRewrittenListsAndSegments() throws {
        let data = try Dataset(in: directory, count: 1000)
        let first = directory + "/first.npy"
        let second = directory + "/second.npy"
        try writeNPY(
            path: first, type: .int8, rows: 600, columns: Dataset.dimension,
            values: Array(data.base.prefix(600 * Dataset.dimension)))
        try writeNPY(
            path: second, type: .int8, rows: 400, columns: Dataset.dimension,
            values: Array(data.base.suffix(400 * Dataset.dimension)))
        let collection = try makeCollection(listCount: 10)
        try collection.ingest(vectors: VectorFile(path: first), keys: (0..<600).map(String.init))
        for row in [3, 300, 599] {
            let hits = try collection.search(
                collection.prepare(int8: data.row(row)), k: 1, nprobe: 10, oversample: 1000)
            #expect(hits.first?.key == String(row))
        }
        try collection.ingest(vectors: VectorFile(path: second), keys: (600..<1000).map(String.init))
        for row in [3, 300, 599, 600, 999] {
            let query = try collection.prepare(int8: data.row(row))
            let hits = try collection.search(query, k: 5, nprobe: 10, oversample: 1000)
            #expect(hits.first?.key == String(row))
            #expect(abs((hits.first?.score ?? 0) - 1) < 1e-5)
            #expect(hits.map(\.key) == (try collection.exactSearch(query, k: 5)).map(\.key))
        }
    }

    @Test func batchedAndSplitSearchesEqualOneByOne() throws {
        // Over LMDB: the batch is split between threads, each with its own read transaction.
        let data = try Dataset(in: directory)
        let collection = try makeCollection()
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        let queries = try (0..<20).map { try collection.prepare(int8: data.query($0)) }
        let oneByOne = try queries.map { try collection.search($0, k: 30, nprobe: 5, oversample: 3) }
        for threads in [1, 2, 3] {
            let batched = try collection.search(batch: queries, k: 30, nprobe: 5, oversample: 3, threads: threads)
            #expect(batched == oneByOne, "batch on \(threads) threads")
            let split = try queries.map { try collection.search($0, k: 30, nprobe: 5, oversample: 3, threads: threads) }
            #expect(split == oneByOne, "each search on \(threads) threads")
        }
        #expect(oneByOne.allSatisfy { $0.count == 30 })
    }

    @Test func reopeningGivesTheSameResults() throws {
        let data = try Dataset(in: directory)
        var before: [[Hit]] = []
        do {
            let collection = try makeCollection()
            try collection.ingest(vectors: VectorFile(path: data.basePath))
            before = try (0..<10).map {
                try collection.search(collection.prepare(int8: data.query($0)), k: 20, nprobe: 6, oversample: 4)
            }
        }
        let reopened = try QuarryCollection.open(at: directory + "/c")
        #expect(try reopened.vectorCount() == data.count)
        let after = try (0..<10).map {
            try reopened.search(reopened.prepare(int8: data.query($0)), k: 20, nprobe: 6, oversample: 4)
        }
        #expect(before == after)
        let stats = try reopened.stats()
        #expect(stats.vectors == data.count && stats.lists == 24 && stats.dimension == Dataset.dimension)
        #expect(stats.meanListSize == Double(data.count) / 24 && stats.largestList >= stats.smallestList)
        #expect(stats.bytesOnDisk > data.count * Dataset.dimension)
    }

    @Test func keysFileNamesTheResults() throws {
        let data = try Dataset(in: directory, count: 500)
        let collection = try makeCollection(listCount: 8)
        let keys = (0..<500).map { "doc-\($0)" }
        try collection.ingest(vectors: VectorFile(path: data.basePath), keys: keys)
        let hits = try collection.search(collection.prepare(int8: data.row(42)), k: 1, nprobe: 8, oversample: 4)
        #expect(hits.first?.key == "doc-42")
    }

    @Test func reingestingIsIdempotentAndUpsertReplaces() throws {
        let data = try Dataset(in: directory, count: 1000)
        let collection = try makeCollection(listCount: 10)
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        let again = try collection.ingest(vectors: VectorFile(path: data.basePath))
        #expect(again.added == 0 && again.replaced == 0 && again.unchanged == 1000)
        #expect(try collection.vectorCount() == 1000)

        // Replace key "7" with the vector of row 500: the search for row 500's vector now
        // finds both keys, and row 7's old vector no longer finds "7" first.
        let replacement = data.row(500)
        try writeNPY(
            path: directory + "/one.npy", type: .int8, rows: 1, columns: Dataset.dimension, values: replacement)
        let upsert = try collection.ingest(vectors: VectorFile(path: directory + "/one.npy"), keys: ["7"])
        #expect(upsert.replaced == 1 && upsert.added == 0)
        #expect(try collection.vectorCount() == 1000)
        let hits = try collection.search(collection.prepare(int8: replacement), k: 2, nprobe: 10, oversample: 50)
        #expect(Set(hits.map(\.key)) == ["7", "500"])
        let old = try collection.exactSearch(collection.prepare(int8: data.row(7)), k: 1000)
        #expect(old.first?.key != "7")
        // Every stored vector is still reachable through the posting lists.
        let all = try collection.search(collection.prepare(int8: data.row(0)), k: 1000, nprobe: 10, oversample: 1000)
        #expect(Set(all.map(\.key)).count == 1000)
        #expect(try collection.stats().meanListSize == 100)
    }

    @Test func spilledVectorsAreFoundOnceAndLeaveBothListsWhenRemoved() throws {
        let data = try Dataset(in: directory, count: 1000)
        let collection = try QuarryCollection.create(
            at: directory + "/spill", dimension: Dataset.dimension, listCount: 10, spillPenalty: 1)
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        var stats = try collection.stats()
        #expect(stats.spillPenalty == 1 && stats.vectors == 1000 && stats.listEntries == 2000)
        // Everything probed and rescored: exact, and each key once although every vector is met twice.
        for q in 0..<5 {
            let query = try collection.prepare(int8: data.query(q))
            let everything = try collection.search(query, k: 50, nprobe: 10, oversample: 1000)
            #expect(everything.map(\.key) == (try collection.exactSearch(query, k: 50)).map(\.key))
            // Rescoring only as many as k: the duplicates must not take the places of distinct vectors.
            let tight = try collection.search(query, k: 20, nprobe: 10, oversample: 1)
            #expect(tight.count == 20 && Set(tight.map(\.key)).count == 20)
        }
        // Replacing and deleting take vectors out of both their lists.
        try writeNPY(
            path: directory + "/one.npy", type: .int8, rows: 1, columns: Dataset.dimension, values: data.row(500))
        #expect(try collection.ingest(vectors: VectorFile(path: directory + "/one.npy"), keys: ["7"]).replaced == 1)
        #expect(try collection.delete(keys: ["3", "4"]) == [])
        stats = try collection.stats()
        #expect(stats.vectors == 998 && stats.listEntries == 1996)
        let all = try collection.search(collection.prepare(int8: data.row(0)), k: 2000, nprobe: 10, oversample: 10)
        #expect(all.count == 998 && Set(all.map(\.key)).count == 998 && !all.contains { $0.key == "3" })
        // Reopened, the collection still spills new vectors.
        let reopened = try QuarryCollection.open(at: directory + "/spill")
        #expect(reopened.manifest.spillPenalty == 1)
    }

    @Test func floatInputIsQuantizedLikePplxEmbed() throws {
        let synth = SyntheticEmbeddings(dimension: Dataset.dimension, clusterCount: 8, seed: 9)
        let floats = synth.floatRows(first: 0, count: 400)
        try writeNPY(path: directory + "/f.npy", type: .float32, rows: 400, columns: Dataset.dimension, values: floats)
        let collection = try makeCollection(listCount: 4)
        try collection.ingest(vectors: VectorFile(path: directory + "/f.npy"))
        #expect(collection.manifest.quantization == .tanh)
        let query = try collection.prepare(query: Array(floats[0..<Dataset.dimension]))
        #expect(try collection.exactSearch(query, k: 1).first?.key == "0")

        var options = IngestOptions()
        options.quantization = .calibrated
        let calibrated = try makeCollection("cal", listCount: 4)
        try calibrated.ingest(vectors: VectorFile(path: directory + "/f.npy"), options: options)
        guard case .calibrated(let scale) = calibrated.manifest.quantization else {
            Issue.record("expected a calibrated quantization")
            return
        }
        #expect(scale > 0)
        // The collection keeps its quantization; asking for the other one is refused.
        #expect(throws: QuarryError.self) {
            try calibrated.ingest(
                vectors: VectorFile(path: directory + "/f.npy"),
                options: {
                    var o = IngestOptions(); o.quantization = .tanh; return o
                }())
        }
    }

    @Test func tuningRecordsASettingThatReachesTheTarget() throws {
        let data = try Dataset(in: directory)
        let collection = try makeCollection()
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        let result = try collection.tune(k: 10, targetRecall: 0.9, sampleSize: 50)
        #expect(result.reached && result.recall >= 0.9 && result.sampleQueries == 50)
        #expect(collection.manifest.defaultProbeCount == result.nprobe)
        #expect(collection.manifest.defaultOversample == result.oversample)
        let defaults = try collection.searchParameters(k: 10, nprobe: nil, oversample: nil)
        #expect(defaults.nprobe == result.nprobe && defaults.oversample == result.oversample)
        #expect(defaults.prefilter == result.prefilter && collection.manifest.defaultPrefilter == result.prefilter)
        // The held-out queries reach the target with the recorded defaults, checked independently.
        var recall = 0.0
        for q in 0..<20 {
            let query = try collection.prepare(int8: data.query(q))
            let exact = try collection.exactSearch(query, k: 10).map(\.key)
            recall += RetrievalMetrics.recall(
                retrieved: try collection.search(query, k: 10).map(\.key), truth: exact, k: 10)
        }
        #expect(recall / 20 >= 0.8)
        #expect(throws: QuarryError.self) { try collection.tune(k: 10, targetRecall: 1.5) }
    }

    @Test func vectorsSpanningSegmentsAndBatchesReadBack() throws {
        let data = try Dataset(in: directory, count: 9000)
        let collection = try makeCollection(listCount: 16)
        var options = IngestOptions()
        options.batchSize = 2500  // batches that straddle the 4,096-record segments
        try collection.ingest(vectors: VectorFile(path: data.basePath), options: options)
        #expect(try collection.vectorCount() == 9000)
        for row in [0, 2499, 2500, 4095, 4096, 8191, 8192, 8999] {
            let hits = try collection.exactSearch(collection.prepare(int8: data.row(row)), k: 1)
            #expect(hits.first?.key == String(row) && abs((hits.first?.score ?? 0) - 1) < 1e-5)
        }
        // Replacing vectors leaves their old records unreachable: counts and results ignore them.
        let replacement = try Dataset(in: directory, count: 9000, seed: 77)
        let keys = (0..<9000).map(String.init)
        let firstRows = directory + "/first.npy"
        try writeNPY(
            path: firstRows, type: .int8, rows: 100, columns: Dataset.dimension,
            values: Array(replacement.base[0..<(100 * Dataset.dimension)]))
        let report = try collection.ingest(vectors: VectorFile(path: firstRows), keys: Array(keys.prefix(100)))
        #expect(try report.replaced == 100 && collection.vectorCount() == 9000)
        let hit = try collection.exactSearch(collection.prepare(int8: replacement.row(7)), k: 1)
        #expect(hit.first?.key == "7" && abs((hit.first?.score ?? 0) - 1) < 1e-5)
        let old = try collection.exactSearch(collection.prepare(int8: data.row(7)), k: 9000)
        #expect(old.count == 9000 && Set(old.map(\.key)).count == 9000)
    }

    @Test func searchesDuringAnIngestSeeWholeBatches() throws {
        let data = try Dataset(in: directory, count: 6000)
        let collection = try makeCollection(listCount: 8)
        // Train on a first batch so that later searches have lists to probe.
        let first = directory + "/first.npy"
        try writeNPY(
            path: first, type: .int8, rows: 500, columns: Dataset.dimension,
            values: Array(data.base[0..<(500 * Dataset.dimension)]))
        try collection.ingest(vectors: VectorFile(path: first))
        let query = try collection.prepare(int8: data.query(0))
        let done = ManagedAtomicFlag()
        let observed = LockedCounts()
        let reader = Thread {
            while !done.isSet {
                // One read transaction each: every snapshot holds whole batches of 500.
                if let all = try? collection.exactSearch(query, k: 10_000) { observed.add(all.count) }
                if let approximate = try? collection.search(query, k: 10_000, nprobe: 8, oversample: 1) {
                    observed.add(approximate.count)
                }
            }
        }
        reader.start()
        var options = IngestOptions()
        options.batchSize = 500
        // After each commit, let the reader search at least once before the next batch.
        options.progress = { _ in
            let before = observed.values.count
            let deadline = Date().addingTimeInterval(5)
            while observed.values.count < before + 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
        }
        try collection.ingest(vectors: VectorFile(path: data.basePath), options: options)
        done.set()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        let counts = observed.values
        #expect(Set(counts).count >= 6)  // it saw the ingest in progress
        #expect(counts.allSatisfy { $0 % 500 == 0 && $0 >= 500 && $0 <= 6000 }, "\(Set(counts).sorted())")
        #expect(try collection.vectorCount() == 6000)
    }
}

/// A flag set once from one thread and read from another.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var isSet: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}

/// Counts recorded from another thread.
final class LockedCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Int] = []
    var values: [Int] { lock.withLock { recorded } }
    func add(_ value: Int) { lock.withLock { recorded.append(value) } }
}

@Suite struct TuningLadderTests {
    @Test func probeCountsStepByAtMostOneAndAHalfUpToTheListCount() {
        for lists in [1, 2, 3, 7, 24, 983, 4000] {
            let counts = QuarryCollection.tuningProbeCounts(listCount: lists)
            #expect(counts.first == 1 && counts.last == lists)
            #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 < $1 && Double($1) <= 2 * Double($0) })
        }
        #expect(QuarryCollection.tuningProbeCounts(listCount: 24) == [1, 2, 3, 4, 6, 8, 12, 16, 24])
    }

    @Test func tuningOnHeldOutQueriesReachesTheTargetForThoseQueries() throws {
        let temporary = TemporaryDirectory()
        let data = try Dataset(in: temporary.path, queries: 60)
        let collection = try QuarryCollection.create(
            at: temporary.path + "/c", dimension: Dataset.dimension, listCount: 40)
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        let queries = try (0..<60).map { try collection.prepare(int8: data.query($0)) }
        let result = try collection.tune(k: 100, targetRecall: 0.97, queries: queries)
        #expect(result.reached && result.sampleQueries == 60 && result.recall >= 0.97)
        // Checked independently: the recorded defaults give those queries the target.
        let exact = try collection.exactNeighbors(of: queries, k: 100)
        var recall = 0.0
        for (query, truth) in zip(queries, exact) {
            recall += RetrievalMetrics.recall(
                retrieved: try collection.search(query, k: 100).map(\.key), truth: truth.map(\.key), k: 100)
        }
        #expect(recall / 60 >= 0.97)
    }
}
