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
}
