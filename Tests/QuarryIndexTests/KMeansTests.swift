import Foundation
import QuarryIndex
import Testing

@Suite struct KMeansTests {
    @Test func separatesWellSeparatedClusters() {
        // Four tight clusters around orthogonal directions in 16 dimensions.
        let dimension = 16
        var generator = SplitMix64(seed: 7)
        var data: [Float] = []
        var labels: [Int] = []
        for i in 0..<400 {
            let cluster = i % 4
            for d in 0..<dimension {
                data.append((d == cluster * 4 ? 10 : 0) + 0.3 * generator.nextGaussian())
            }
            labels.append(cluster)
        }
        var kmeans = KMeans(clusterCount: 4, dimension: dimension)
        kmeans.iterations = 10
        let centroids = kmeans.train(data, count: 400)
        var assignment = [Int32](repeating: 0, count: 400)
        kmeans.assign(data, count: 400, centroids: centroids, into: &assignment)
        // Each true cluster maps to exactly one k-means cluster, and vice versa.
        var mapping: [Int: Int32] = [:]
        for (row, label) in labels.enumerated() {
            if let seen = mapping[label] {
                #expect(seen == assignment[row], "row \(row) split from its cluster")
            } else {
                mapping[label] = assignment[row]
            }
        }
        #expect(Set(mapping.values).count == 4)
        // Centroids are unit length.
        for c in 0..<4 {
            let norm = (0..<dimension).reduce(Float(0)) {
                $0 + centroids[c * dimension + $1] * centroids[c * dimension + $1]
            }
            #expect(abs(norm - 1) < 1e-4)
        }
    }

    @Test func reseedsEmptyClusters() {
        // Eight identical points and four clusters: every centroid must still be finite.
        let data = [Float](repeating: 1, count: 8 * 4)
        let centroids = KMeans(clusterCount: 4, dimension: 4).train(data, count: 8)
        #expect(centroids.allSatisfy { $0.isFinite })
    }

    @Test func spillingKeepsTheNearestListAndPicksASecondBySOARLoss() {
        let dimension = 24
        let synth = SyntheticEmbeddings(dimension: dimension, clusterCount: 12, seed: 4)
        let data = synth.int8Rows(first: 0, count: 600).map(Float.init)
        var kmeans = KMeans(clusterCount: 10, dimension: dimension)
        kmeans.iterations = 4
        let centroids = kmeans.train(data, count: 600)
        var nearest = [Int32](repeating: 0, count: 600)
        kmeans.assign(data, count: 600, centroids: centroids, into: &nearest)
        func cosine(_ row: Int, _ list: Int) -> Float {
            var dot: Float = 0
            var norm: Float = 0
            for d in 0..<dimension {
                dot += data[row * dimension + d] * centroids[list * dimension + d]
                norm += data[row * dimension + d] * data[row * dimension + d]
            }
            return dot / norm.squareRoot()
        }
        for penalty: Float in [0, 1.5] {
            var primary = [Int32](repeating: 0, count: 600)
            var secondary = [Int32](repeating: 0, count: 600)
            data.withUnsafeBufferPointer { v in
                kmeans.assignWithSpill(
                    v.baseAddress!, count: 600, centroids: centroids, penalty: penalty, primary: &primary,
                    secondary: &secondary, secondaryCandidates: 9)
            }
            #expect(primary == nearest)
            for row in 0..<600 {
                let first = Int(primary[row])
                let second = Int(secondary[row])
                #expect(second >= 0 && second != first)
                // The loss, in full: residuals of the unit vector against both centroids.
                func loss(_ list: Int) -> Float {
                    var norm: Float = 0
                    for d in 0..<dimension { norm += data[row * dimension + d] * data[row * dimension + d] }
                    norm = norm.squareRoot()
                    var residual: Float = 0
                    var parallel: Float = 0
                    var firstResidual: Float = 0
                    for d in 0..<dimension {
                        let x = data[row * dimension + d] / norm
                        let r = x - centroids[first * dimension + d]
                        let rPrime = x - centroids[list * dimension + d]
                        residual += rPrime * rPrime
                        parallel += r * rPrime
                        firstResidual += r * r
                    }
                    return residual + penalty * parallel * parallel / firstResidual
                }
                let others = (0..<10).filter { $0 != first }
                let best = others.min { loss($0) < loss($1) }!
                #expect(abs(loss(second) - loss(best)) < 1e-3, "row \(row), penalty \(penalty)")
                if penalty == 0 {
                    // Without the penalty the second list is simply the second nearest.
                    let runnerUp = others.max { cosine(row, $0) < cosine(row, $1) }!
                    #expect(abs(cosine(row, second) - cosine(row, runnerUp)) < 1e-5)
                }
            }
        }
    }
}
