import Foundation
import QuarryIndex
import QuarrySchema
import QuarryStore

/// The outcome of tuning: the fastest setting found that reaches the target recall.
public struct TuningResult: Sendable, Codable {
    public var k: Int
    public var targetRecall: Double
    public var nprobe: Int
    public var oversample: Double
    public var prefilter: Prefilter
    public var recall: Double
    public var qps: Double
    /// Whether some setting reached the target (if not, the best recall found is reported).
    public var reached: Bool
    public var sampleQueries: Int
}

extension QuarryCollection {
    /// Oversampling factors tried by `tune`, in increasing cost.
    static let tuningOversamples: [Double] = [1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]

    /// Probe counts tried by `tune`: steps of about 1.5× (1, 2, 3, 4, 6, 8, 12, ...) up to and
    /// including the list count, so deep targets that need most of the lists are reached.
    static func tuningProbeCounts(listCount: Int) -> [Int] {
        var counts: [Int] = []
        var power = 1
        while power < listCount {
            counts.append(power)
            if power >= 2, power + power / 2 < listCount { counts.append(power + power / 2) }
            power *= 2
        }
        counts.append(listCount)
        return counts
    }

    /// Picks `nprobe`, `oversample` and the prefilter for `k`. The queries are `queries` when
    /// given (held-out ones that behave like real queries: exact neighbours from the whole
    /// collection), otherwise a sample of the collection's own vectors, each left out of both
    /// its results and its exact neighbours (documents are easier neighbours of each other than
    /// real queries are, so this overestimates what real queries get). For each probe count
    /// of `tuningProbeCounts` the smallest oversampling reaching `targetRecall` is timed for each
    /// prefilter (one query at a time, one thread); the fastest wins and, with `record`, becomes
    /// the collection's default. A prefilter's ladder stops once two probe counts in a row are
    /// less than half as fast as its best so far.
    public func tune(
        k: Int, targetRecall: Double, sampleSize: Int = 200, queries heldOut: [PreparedQuery]? = nil,
        record: Bool = true
    ) throws -> TuningResult {
        try Limits.check(k, in: 1...Limits.maxK, "k")
        try Limits.check(sampleSize, in: 1...100_000, "the tuning sample")
        guard targetRecall > 0, targetRecall <= 1 else {
            throw QuarryError.invalidArgument("the target recall must be in (0, 1], got \(targetRecall)")
        }
        let manifest = self.manifest
        guard manifest.listCount > 0 else { throw QuarryError.untrained(path: path) }
        let (keys, queries) = try heldOut.map { (nil, Array($0.prefix(sampleSize))) } ?? ownVectorSample(sampleSize)
        guard !queries.isEmpty else { throw QuarryError.untrained(path: path) }
        // Leaves a sampled vector out of its own results; held-out queries have nothing to leave out.
        func others(_ hits: [Hit], _ index: Int) -> [String] {
            keys.map { keys in hits.map(\.key).filter { $0 != keys[index] } } ?? hits.map(\.key)
        }
        let extra = keys == nil ? 0 : 1
        let truth = try exactNeighbors(of: queries, k: k + extra).enumerated().map { index, hits in
            Array(others(hits, index).prefix(k))
        }
        func measure(_ nprobe: Int, _ oversample: Double, _ prefilter: Prefilter) throws -> (
            recall: Double, qps: Double
        ) {
            var recall = 0.0
            let clock = ContinuousClock()
            let started = clock.now
            for (index, query) in queries.enumerated() {
                let hits = try search(
                    query, k: k + extra, nprobe: nprobe, oversample: oversample, prefilter: prefilter)
                recall += RetrievalMetrics.recall(retrieved: others(hits, index), truth: truth[index], k: k)
            }
            let seconds = (clock.now - started).seconds
            return (recall / Double(queries.count), Double(queries.count) / max(seconds, 1e-9))
        }
        var best: TuningResult?
        var closest: TuningResult?
        for prefilter in Prefilter.allCases {
            var fastest: TuningResult?
            var slowSteps = 0
            for probes in Self.tuningProbeCounts(listCount: manifest.listCount) {
                var reachedHere: TuningResult?
                var tooSlow = false
                for oversample in Self.tuningOversamples {
                    let (recall, qps) = try measure(probes, oversample, prefilter)
                    let result = TuningResult(
                        k: k, targetRecall: targetRecall, nprobe: probes, oversample: oversample,
                        prefilter: prefilter, recall: recall, qps: qps, reached: recall >= targetRecall,
                        sampleQueries: queries.count)
                    if closest.map({ recall > $0.recall }) ?? true { closest = result }
                    if recall >= targetRecall {
                        reachedHere = result
                        break
                    }
                    // More candidates cannot help once this probe count is slower than the best.
                    if let fastest, qps < fastest.qps / 2 {
                        tooSlow = true
                        break
                    }
                }
                if let reachedHere, fastest.map({ reachedHere.qps > $0.qps }) ?? true {
                    fastest = reachedHere
                    slowSteps = 0
                } else if let fastest, tooSlow || (reachedHere.map { $0.qps < fastest.qps / 2 } ?? false) {
                    slowSteps += 1
                    if slowSteps == 2 { break }
                }
            }
            if let fastest, best.map({ fastest.qps > $0.qps }) ?? true { best = fastest }
        }
        let chosen = best ?? closest!
        if record {
            writerLock.lock()
            defer { writerLock.unlock() }
            try environment.write { txn in
                try updateManifest(txn) { manifest in
                    manifest.defaultProbeCount = chosen.nprobe
                    manifest.defaultOversample = chosen.oversample
                    manifest.defaultPrefilter = chosen.prefilter
                }
            }
            try refreshedState()
        }
        return chosen
    }

    /// Up to `sampleSize` of the collection's own vectors, with their keys, as queries.
    private func ownVectorSample(_ sampleSize: Int) throws -> ([String]?, [PreparedQuery]) {
        let dimension = manifest.dimension
        return try environment.read { txn -> ([String]?, [PreparedQuery]) in
            var ids: [UInt64] = []
            try txn.forEach(databases.idKeys) { key, _ in
                ids.append(try InternalID.decode(key))
                return true
            }
            var generator = SplitMix64(seed: 0x70E5)
            let picked = sampleWithoutReplacement(count: ids.count, take: min(sampleSize, ids.count), using: &generator)
            var keys: [String] = []
            var queries: [PreparedQuery] = []
            let records = VectorRecords(txn: txn, database: databases.vectors, dimension: dimension)
            for index in picked {
                let id = ids[index]
                guard let key = try txn.get(databases.idKeys, key: InternalID.encode(id)),
                    let stored = try records.vector(id: id)
                else { continue }
                keys.append(TextKey.decode(key))
                queries.append(PreparedQuery(int8: Array(UnsafeBufferPointer(start: stored.values, count: dimension))))
            }
            return (keys, queries)
        }
    }
}
