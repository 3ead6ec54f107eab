import CBLAS
import Foundation
import QuarryBase

/// Exact nearest neighbours by INT8 cosine for many queries at once: the base is streamed in
/// blocks, each block scored against all queries by one sgemm (INT8 products summed in Float32
/// are exact up to 2^24, i.e. for any dimension up to 1040), each query keeping a bounded heap.
public enum ExactNeighbors {
    /// Row numbers of the `k` nearest base rows for each query, nearest first.
    /// - Parameters:
    ///   - queries: nq × dimension INT8 queries, row-major.
    ///   - base: `baseCount` rows of `dimension` INT8 values, given by `baseRow`.
    public static func compute(
        queries: [Int8], dimension: Int, baseCount: Int, k: Int,
        baseRow: (Int) -> UnsafePointer<Int8>
    ) -> [[ScoredID]] {
        let queryCount = queries.count / dimension
        var queryMatrix = queries.map(Float.init)
        normalizeRows(&queryMatrix, rows: queryCount, dimension: dimension)
        let blockRows = 8192
        var block = [Float](repeating: 0, count: blockRows * dimension)
        var inverseNorms = [Float](repeating: 0, count: blockRows)
        var scores = [Float](repeating: 0, count: queryCount * blockRows)
        var heaps = (0..<queryCount).map { _ in TopKHeap(capacity: k) }
        var start = 0
        while start < baseCount {
            let rows = min(blockRows, baseCount - start)
            for r in 0..<rows {
                let source = baseRow(start + r)
                var sumOfSquares: Float = 0
                for d in 0..<dimension {
                    let value = Float(source[d])
                    block[r * dimension + d] = value
                    sumOfSquares += value * value
                }
                inverseNorms[r] = sumOfSquares > 0 ? 1 / sumOfSquares.squareRoot() : 0
            }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queryCount), Int32(rows), Int32(dimension),
                1, queryMatrix, Int32(dimension), block, Int32(dimension), 0, &scores, Int32(blockRows))
            let blockStart = start
            scores.withUnsafeBufferPointer { scores in
                inverseNorms.withUnsafeBufferPointer { norms in
                    heaps.withUnsafeMutableBufferPointer { heaps in
                        concurrently(queryCount) { q in
                            let row = scores.baseAddress! + q * blockRows
                            for r in 0..<rows {
                                let score = row[r] * norms[r]
                                if score >= heaps[q].threshold {
                                    heaps[q].insert(ScoredID(id: UInt64(blockStart + r), score: score))
                                }
                            }
                        }
                    }
                }
            }
            start += rows
        }
        return heaps.map { $0.sortedDescending() }
    }
}
