import CQuarryKernels
import Foundation

/// How wide a data set's neighbourhoods are, in the figures that decide how hard deep retrieval
/// is for an IVF index: the cosine of a query's 1st/10th/100th/1000th exact neighbour against
/// that of random pairs, and how many IVF lists of a spherical k-means hold a query's true
/// top-10 and top-1000. Real sentence embeddings spread their top-1000 over a large share of
/// the lists; a generator whose neighbourhoods sit in a few lists makes deep search look easy.
public struct NeighbourhoodStatistics: Sendable, Codable, Equatable {
    /// The neighbour ranks (1-based) whose median cosine is reported.
    public static let ranks = [1, 10, 100, 1000]

    public var baseCount: Int
    public var queryCount: Int
    public var listCount: Int
    /// Median cosine of the neighbour at each of `ranks` that the ground truth reaches.
    public var neighbourCosines: [Int: Double]
    /// Median cosine of random pairs of base vectors.
    public var randomPairCosine: Double
    /// Median number of distinct lists holding a query's true top-10.
    public var listsHoldingTop10: Double
    /// Median number of distinct lists holding a query's true top-1000 (or its whole ground truth
    /// when that is shorter).
    public var listsHoldingTop1000: Double

    /// `listsHoldingTop1000` as a share of all lists.
    public var top1000ListShare: Double { listCount > 0 ? listsHoldingTop1000 / Double(listCount) : 0 }

    /// Measures the statistics of `base` (INT8 rows, cosine) for `queries` with exact neighbours
    /// `truth` (base row numbers, nearest first). The lists come from spherical k-means with
    /// `listCount` centroids trained on up to `trainingSample` base rows; only the rows the
    /// ground truth names are assigned.
    public static func measure(
        base: (Int) -> UnsafePointer<Int8>, baseCount: Int, dimension: Int, queries: [Int8], truth: [[Int]],
        listCount: Int, trainingSample: Int = 100_000, seed: UInt64 = 0x57A7
    ) -> NeighbourhoodStatistics {
        let queryCount = queries.count / dimension
        precondition(queryCount == truth.count && listCount > 0 && baseCount >= listCount)
        var generator = SplitMix64(seed: seed)
        func cosine(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>) -> Double {
            let aa = Double(qk_dot_i8(a, a, dimension))
            let bb = Double(qk_dot_i8(b, b, dimension))
            return aa > 0 && bb > 0 ? Double(qk_dot_i8(a, b, dimension)) / (aa.squareRoot() * bb.squareRoot()) : 0
        }
        var neighbourCosines: [Int: Double] = [:]
        queries.withUnsafeBufferPointer { q in
            for rank in ranks {
                let values = (0..<queryCount).compactMap { query -> Double? in
                    guard truth[query].count >= rank, (0..<baseCount).contains(truth[query][rank - 1]) else {
                        return nil
                    }
                    return cosine(q.baseAddress! + query * dimension, base(truth[query][rank - 1]))
                }
                if !values.isEmpty { neighbourCosines[rank] = RetrievalMetrics.percentile(values, 0.5) }
            }
        }
        let randomPairs = (0..<10_000).map { _ in
            cosine(base(Int(generator.next() % UInt64(baseCount))), base(Int(generator.next() % UInt64(baseCount))))
        }

        let sampleRows = sampleWithoutReplacement(
            count: baseCount, take: min(baseCount, max(listCount, trainingSample)), using: &generator)
        var sample = [Float](repeating: 0, count: sampleRows.count * dimension)
        for (index, row) in sampleRows.enumerated() {
            let source = base(row)
            for d in 0..<dimension { sample[index * dimension + d] = Float(source[d]) }
        }
        let kmeans = KMeans(clusterCount: listCount, dimension: dimension)
        let centroids = kmeans.train(sample, count: sampleRows.count)
        // Assign each distinct row the ground truth names, once.
        let named = Array(Set(truth.joined().filter { (0..<baseCount).contains($0) })).sorted()
        var rows = [Float](repeating: 0, count: named.count * dimension)
        for (index, row) in named.enumerated() {
            let source = base(row)
            for d in 0..<dimension { rows[index * dimension + d] = Float(source[d]) }
        }
        var assignment = [Int32](repeating: 0, count: named.count)
        kmeans.assign(rows, count: named.count, centroids: centroids, into: &assignment)
        let listOf = Dictionary(uniqueKeysWithValues: zip(named, assignment))
        func listsHolding(top k: Int) -> Double {
            RetrievalMetrics.percentile(
                truth.map { Double(Set($0.prefix(k).compactMap { listOf[$0] }).count) }, 0.5)
        }
        return NeighbourhoodStatistics(
            baseCount: baseCount, queryCount: queryCount, listCount: listCount,
            neighbourCosines: neighbourCosines,
            randomPairCosine: RetrievalMetrics.percentile(randomPairs, 0.5),
            listsHoldingTop10: listsHolding(top: 10), listsHoldingTop1000: listsHolding(top: 1000))
    }
}
