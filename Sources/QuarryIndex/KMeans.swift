import CBLAS
import Foundation

/// Spherical k-means: centroids of unit length, vectors assigned by largest inner product
/// (cosine), all distance computations as one sgemm per batch.
public struct KMeans: Sendable {
    public let clusterCount: Int
    public let dimension: Int
    public var iterations: Int = 10
    public var seed: UInt64 = 0x5eed

    public init(clusterCount: Int, dimension: Int) {
        precondition(clusterCount > 0 && dimension > 0)
        self.clusterCount = clusterCount
        self.dimension = dimension
    }

    /// Trains on `count` row-major vectors (normalized here) and returns clusterCount x dimension
    /// unit-length centroids. Empty clusters are re-seeded by splitting the largest one.
    public func train(_ vectors: [Float], count: Int, progress: ((Int) -> Void)? = nil) -> [Float] {
        precondition(vectors.count == count * dimension && count >= clusterCount)
        var data = vectors
        normalizeRows(&data, rows: count, dimension: dimension)
        var generator = SplitMix64(seed: seed)
        var centroids = [Float](repeating: 0, count: clusterCount * dimension)
        for (c, row) in sampleWithoutReplacement(count: count, take: clusterCount, using: &generator).enumerated() {
            for d in 0..<dimension { centroids[c * dimension + d] = data[row * dimension + d] }
        }
        var assignment = [Int32](repeating: 0, count: count)
        for iteration in 0..<iterations {
            assign(data, count: count, centroids: centroids, into: &assignment)
            var sums = [Float](repeating: 0, count: clusterCount * dimension)
            var sizes = [Int](repeating: 0, count: clusterCount)
            for row in 0..<count {
                let c = Int(assignment[row])
                sizes[c] += 1
                for d in 0..<dimension { sums[c * dimension + d] += data[row * dimension + d] }
            }
            for c in 0..<clusterCount where sizes[c] == 0 {
                // Split the largest cluster: copy its centroid with a small perturbation.
                let largest = sizes.indices.max { sizes[$0] < sizes[$1] }!
                for d in 0..<dimension {
                    let jitter = Float(generator.nextUnit() - 0.5) * 1e-3
                    sums[c * dimension + d] = sums[largest * dimension + d] * (1 + jitter)
                    sums[largest * dimension + d] *= (1 - jitter)
                }
                sizes[c] = sizes[largest] / 2
                sizes[largest] -= sizes[c]
            }
            centroids = sums
            normalizeRows(&centroids, rows: clusterCount, dimension: dimension)
            progress?(iteration + 1)
        }
        return centroids
    }

    /// Assigns each of `count` row-major vectors to the centroid of largest inner product.
    /// The vectors need not be normalized (the arg-max of a cosine does not depend on the
    /// vector's own norm).
    public func assign(
        _ vectors: [Float], count: Int, centroids: [Float], into assignment: inout [Int32]
    ) {
        vectors.withUnsafeBufferPointer { v in
            assignment.withUnsafeMutableBufferPointer { a in
                assign(v.baseAddress!, count: count, centroids: centroids, into: a.baseAddress!)
            }
        }
    }

    /// Pointer form of `assign`.
    public func assign(
        _ vectors: UnsafePointer<Float>, count: Int, centroids: [Float],
        into assignment: UnsafeMutablePointer<Int32>
    ) {
        forEachScoreRow(vectors, count: count, centroids: centroids) { row, scores in
            var best = 0
            var bestScore = scores[0]
            for c in 1..<clusterCount where scores[c] > bestScore {
                best = c
                bestScore = scores[c]
            }
            assignment[row] = Int32(best)
        }
    }

    /// Assigns each vector to its nearest centroid and to a second one chosen as SOAR (Sun et
    /// al., "SOAR: improved indexing for approximate nearest neighbor search", NeurIPS 2023)
    /// does: among the `secondaryCandidates` next nearest, the centroid c minimising
    /// ‖r′‖² + penalty · ⟨r, r′⟩² / ‖r‖², where r and r′ are the residuals of the unit vector
    /// against the first centroid and c. The penalty steers the second list towards one whose
    /// residual is orthogonal to the first's, so a query the first list ranks badly is ranked
    /// well by the second. Writes -1 as the second list when there is only one centroid.
    public func assignWithSpill(
        _ vectors: UnsafePointer<Float>, count: Int, centroids: [Float], penalty: Float,
        primary: UnsafeMutablePointer<Int32>, secondary: UnsafeMutablePointer<Int32>,
        secondaryCandidates: Int = 16
    ) {
        let dimension = self.dimension
        var nearest: [Int] = []
        centroids.withUnsafeBufferPointer { c in
            forEachScoreRow(vectors, count: count, centroids: centroids) { row, scores in
                let norm = cblas_snrm2(Int32(dimension), vectors + row * dimension, 1)
                let scale = norm > 0 ? 1 / norm : 0
                // The best 1 + secondaryCandidates centroids by cosine, best first.
                nearest.removeAll(keepingCapacity: true)
                for list in 0..<clusterCount {
                    if nearest.count <= secondaryCandidates {
                        nearest.append(list)
                    } else if scores[list] > scores[nearest[nearest.count - 1]] {
                        nearest[nearest.count - 1] = list
                    } else {
                        continue
                    }
                    var i = nearest.count - 1
                    while i > 0 && scores[nearest[i]] > scores[nearest[i - 1]] {
                        nearest.swapAt(i, i - 1)
                        i -= 1
                    }
                }
                let first = nearest[0]
                primary[row] = Int32(first)
                let firstCosine = scores[first] * scale
                let firstResidual = max(2 - 2 * firstCosine, 1e-12)
                var best: Int32 = -1
                var bestLoss = Float.infinity
                for list in nearest.dropFirst() {
                    let cosine = scores[list] * scale
                    let centroidCosine = cblas_sdot(
                        Int32(dimension), c.baseAddress! + first * dimension, 1, c.baseAddress! + list * dimension, 1)
                    // ⟨x − c₁, x − c⟩ for unit x, c₁, c.
                    let residualDot = 1 - cosine - firstCosine + centroidCosine
                    let loss = (2 - 2 * cosine) + penalty * residualDot * residualDot / firstResidual
                    if loss < bestLoss {
                        bestLoss = loss
                        best = Int32(list)
                    }
                }
                secondary[row] = best
            }
        }
    }

    /// Calls `body(row, scores)` with each vector's inner products with every centroid,
    /// computed one sgemm per batch of rows.
    private func forEachScoreRow(
        _ vectors: UnsafePointer<Float>, count: Int, centroids: [Float],
        _ body: (_ row: Int, _ scores: UnsafePointer<Float>) -> Void
    ) {
        let batch = 4096
        var scores = [Float](repeating: 0, count: min(batch, count) * clusterCount)
        var start = 0
        while start < count {
            let rows = min(batch, count - start)
            centroids.withUnsafeBufferPointer { c in
                scores.withUnsafeMutableBufferPointer { s in
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(clusterCount),
                        Int32(dimension), 1, vectors + start * dimension, Int32(dimension),
                        c.baseAddress, Int32(dimension), 0, s.baseAddress, Int32(clusterCount))
                    for r in 0..<rows { body(start + r, s.baseAddress! + r * clusterCount) }
                }
            }
            start += rows
        }
    }
}

/// Scales each row of a row-major matrix to unit length (zero rows stay zero).
public func normalizeRows(_ matrix: inout [Float], rows: Int, dimension: Int) {
    matrix.withUnsafeMutableBufferPointer { m in
        for r in 0..<rows {
            let row = m.baseAddress! + r * dimension
            let norm = cblas_snrm2(Int32(dimension), row, 1)
            if norm > 0 { cblas_sscal(Int32(dimension), 1 / norm, row, 1) }
        }
    }
}

/// `take` distinct indices from 0..<count, in random order.
public func sampleWithoutReplacement(count: Int, take: Int, using generator: inout SplitMix64) -> [Int] {
    precondition(take <= count)
    if take * 4 >= count {
        var all = Array(0..<count)
        for i in 0..<take {
            let j = i + Int(generator.next() % UInt64(count - i))
            all.swapAt(i, j)
        }
        return Array(all.prefix(take))
    }
    var chosen = Set<Int>()
    var order: [Int] = []
    while order.count < take {
        let candidate = Int(generator.next() % UInt64(count))
        if chosen.insert(candidate).inserted { order.append(candidate) }
    }
    return order
}

/// A small, fast, seedable generator (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform value in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// A standard normal value (Box–Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextUnit(), 1e-300)
        let u2 = nextUnit()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2))
    }
}
