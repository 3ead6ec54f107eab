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

    /// Picks `nprobe`, `oversample` and the prefilter for `k` from a held-out sample of the collection's own
    /// vectors: each sampled vector queries the index with itself left out of both its results
    /// and its exact neighbours. For each probe count the smallest oversampling reaching
    /// `targetRecall` is timed for each prefilter (one query at a time, one thread); the fastest
    /// wins and, with
    /// `record`, becomes the collection's default.
    public func tune(k: Int, targetRecall: Double, sampleSize: Int = 200, record: Bool = true) throws
        -> TuningResult
    {
        try Limits.check(k, in: 1...Limits.maxK, "k")
        try Limits.check(sampleSize, in: 1...100_000, "the tuning sample")
        guard targetRecall > 0, targetRecall <= 1 else {
            throw QuarryError.invalidArgument("the target recall must be in (0, 1], got \(targetRecall)")
        }
        let manifest = self.manifest
        guard manifest.listCount > 0 else { throw QuarryError.untrained(path: path) }
        let dimension = manifest.dimension
        let (keys, queries) = try environment.read { txn -> ([String], [PreparedQuery]) in
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
        guard !queries.isEmpty else { throw QuarryError.untrained(path: path) }
        let truth = try exactNeighbors(of: queries, k: k + 1).enumerated().map { index, hits in
            Array(hits.map(\.key).filter { $0 != keys[index] }.prefix(k))
        }
        func measure(_ nprobe: Int, _ oversample: Double, _ prefilter: Prefilter) throws -> (
            recall: Double, qps: Double
        ) {
            var recall = 0.0
            let clock = ContinuousClock()
            let started = clock.now
            for (index, query) in queries.enumerated() {
                let hits = try search(query, k: k + 1, nprobe: nprobe, oversample: oversample, prefilter: prefilter)
                let found = hits.map(\.key).filter { $0 != keys[index] }
                recall += RetrievalMetrics.recall(retrieved: found, truth: truth[index], k: k)
            }
            let seconds = (clock.now - started).seconds
            return (recall / Double(queries.count), Double(queries.count) / max(seconds, 1e-9))
        }
        var best: TuningResult?
        var closest: TuningResult?
        for prefilter in Prefilter.allCases {
            var fastest: TuningResult?
            var probes = 1
            while probes <= manifest.listCount {
                for oversample in Self.tuningOversamples {
                    let (recall, qps) = try measure(probes, oversample, prefilter)
                    let result = TuningResult(
                        k: k, targetRecall: targetRecall, nprobe: probes, oversample: oversample,
                        prefilter: prefilter, recall: recall, qps: qps, reached: recall >= targetRecall,
                        sampleQueries: queries.count)
                    if closest.map({ recall > $0.recall }) ?? true { closest = result }
                    if recall >= targetRecall {
                        if fastest.map({ qps > $0.qps }) ?? true { fastest = result }
                        break
                    }
                }
                // More probes only pay when they beat the best so far; stop once they are slower.
                if let fastest, fastest.nprobe < probes / 2 { break }
                probes = probes == manifest.listCount ? probes + 1 : min(probes * 2, manifest.listCount)
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
}
