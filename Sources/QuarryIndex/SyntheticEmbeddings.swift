import CBLAS
import Foundation
import QuarryBase

/// Synthetic embeddings shaped like real ones: a common mean direction shared by all vectors,
/// topics holding clusters of unequal (Zipf-like) sizes, an anisotropic spectrum (variance
/// decaying as a power law, so about a fifth of the dimensions carry most of it, as in real
/// sentence embeddings), a random rotation so no axis is special, and pplx-embed's tanh-INT8
/// quantization. Of each vector's energy about a quarter is the shared mean, a fifth its topic,
/// a quarter its cluster and the rest its own noise: random pairs have a cosine near 0.25 and
/// near neighbours near 0.8, like real embeddings and unlike uniform noise. Queries are drawn
/// from the same clusters with more spread, from a separate stream.
///
/// The `shape` decides how wide a query's neighbourhood is. `.narrow` (the original generator)
/// keeps a query's true top-1000 in a few clusters, so in few IVF lists; `.wide` mixes each
/// vector from two small clusters inside large topics, so its top-1000
/// spreads over a large share of the lists as real sentence embeddings' do (`quarry bench
/// stats` measures both beside real embeddings).
public struct SyntheticEmbeddings: Sendable {
    public var dimension: Int
    public var clusterCount: Int
    public var seed: UInt64
    public var shape: Shape
    /// Standard deviation of the raw floats before tanh, per component.
    public var scale: Float = 0.35

    /// The generator's structure: the share of a vector's energy in the common mean, its
    /// topic, its clusters and its own noise, and how many clusters each vector mixes.
    public struct Shape: Sendable, Equatable {
        public var meanEnergy: Float
        public var topicEnergy: Float
        public var clusterEnergy: Float
        public var noiseEnergy: Float
        /// Clusters a vector's cluster part is drawn from, with random weights (1: one cluster).
        public var clustersPerVector: Int
        /// The largest weight of a further cluster against the first's (weights uniform below it).
        public var secondaryWeight: Float
        /// Base vectors per cluster when the caller does not choose the cluster count.
        public var vectorsPerCluster: Int
        /// Clusters per topic: the neighbours at depth 100-1000 share a topic.
        public var clustersPerTopic: Int

        public init(
            meanEnergy: Float, topicEnergy: Float, clusterEnergy: Float, noiseEnergy: Float,
            clustersPerVector: Int, secondaryWeight: Float, vectorsPerCluster: Int, clustersPerTopic: Int
        ) {
            self.meanEnergy = meanEnergy
            self.topicEnergy = topicEnergy
            self.clusterEnergy = clusterEnergy
            self.noiseEnergy = noiseEnergy
            self.clustersPerVector = clustersPerVector
            self.secondaryWeight = secondaryWeight
            self.vectorsPerCluster = vectorsPerCluster
            self.clustersPerTopic = clustersPerTopic
        }

        /// Few large clusters, one a vector: a query's top-1000 sits in a few IVF lists.
        public static let narrow = Shape(
            meanEnergy: 0.25, topicEnergy: 0.20, clusterEnergy: 0.25, noiseEnergy: 0.30, clustersPerVector: 1,
            secondaryWeight: 0, vectorsPerCluster: 500, clustersPerTopic: 10)
        /// Tight families of about 8 vectors, each mixed with a second, in topics of about 560:
        /// fitted to all-MiniLM-L6-v2 over Debian package descriptions (at 20,000: neighbour
        /// cosines 0.68/0.52/0.39/0.26 at ranks 1/10/100/1000, random pairs 0.16, top-1000 in
        /// 32% of 565 lists; this preset 0.70/0.54/0.39/0.27, 0.16, 32%).
        public static let wide = Shape(
            meanEnergy: 0.15, topicEnergy: 0.22, clusterEnergy: 0.40, noiseEnergy: 0.23, clustersPerVector: 2,
            secondaryWeight: 0.7, vectorsPerCluster: 8, clustersPerTopic: 70)

        /// The cluster count for `count` base vectors.
        public func clusterCount(for count: Int) -> Int { max(16, count / vectorsPerCluster) }
    }

    private let spectrum: [Float]
    private let rotation: [Float]
    private let mean: [Float]
    private let centers: [Float]
    private let spreads: [Float]
    private let cumulativeWeights: [Double]

    public init(dimension: Int, clusterCount: Int, seed: UInt64 = 42, shape: Shape = .narrow) {
        precondition(dimension > 0 && clusterCount > 0 && shape.clustersPerVector > 0 && shape.clustersPerTopic > 0)
        self.dimension = dimension
        self.clusterCount = clusterCount
        self.seed = seed
        self.shape = shape
        var generator = SplitMix64(seed: seed)
        // Standard deviation per latent axis: variance decays as d^-0.7, normalised to mean 1.
        let raw = (0..<dimension).map { Float(pow(Double($0 + 1), -0.35)) }
        let meanSquare = raw.reduce(0) { $0 + $1 * $1 } / Float(dimension)
        let spectrum = raw.map { $0 / meanSquare.squareRoot() }
        self.spectrum = spectrum
        rotation = (0..<dimension * dimension).map { _ in generator.nextGaussian() / Float(dimension).squareRoot() }
        mean = (0..<dimension).map { _ in shape.meanEnergy.squareRoot() * generator.nextGaussian() }
        let topicCount = max(1, clusterCount / shape.clustersPerTopic)
        let topics = (0..<topicCount * dimension).map { i in
            shape.topicEnergy.squareRoot() * spectrum[i % dimension] * generator.nextGaussian()
        }
        var centers = [Float](repeating: 0, count: clusterCount * dimension)
        for cluster in 0..<clusterCount {
            let topic = Int(generator.next() % UInt64(topicCount))
            for d in 0..<dimension {
                centers[cluster * dimension + d] =
                    topics[topic * dimension + d]
                    + shape.clusterEnergy.squareRoot() * spectrum[d] * generator.nextGaussian()
            }
        }
        self.centers = centers
        spreads = (0..<clusterCount).map { _ in Float(0.7 + 0.6 * generator.nextUnit()) }
        // Zipf-like cluster sizes.
        var total = 0.0
        cumulativeWeights = (0..<clusterCount).map {
            total += pow(Double($0 + 1), -0.6)
            return total
        }.map { $0 / total }
    }

    /// Generates rows `first..<first + count` of a stream (`queries` picks the query stream)
    /// as row-major float32 values before quantization. The same arguments give the same rows.
    public func floatRows(first: Int, count: Int, queries: Bool = false) -> [Float] {
        var latent = [Float](repeating: 0, count: count * dimension)
        let noise: Float = shape.noiseEnergy.squareRoot() * (queries ? 1.25 : 1.0)
        let stream: UInt64 = queries ? 0x51 : 0xBA
        let rowsPerTask = 256
        let tasks = (count + rowsPerTask - 1) / rowsPerTask
        latent.withUnsafeMutableBufferPointer { output in
            concurrently(tasks) { task in
                for row in task * rowsPerTask..<min(count, (task + 1) * rowsPerTask) {
                    var generator = SplitMix64(seed: seed ^ (stream << 56) ^ UInt64(first + row) &* 0x9E37_79B9)
                    let cluster = pickCluster(&generator)
                    let spread = spreads[cluster] * noise
                    let out = output.baseAddress! + row * dimension
                    if shape.clustersPerVector == 1 {
                        for d in 0..<dimension {
                            out[d] =
                                mean[d] + centers[cluster * dimension + d]
                                + spread * spectrum[d] * generator.nextGaussian()
                        }
                        continue
                    }
                    // Several clusters with random weights of unit total energy.
                    var mixed = [cluster]
                    var weights = [Float(1)]
                    for _ in 1..<shape.clustersPerVector {
                        mixed.append(pickCluster(&generator))
                        weights.append(shape.secondaryWeight * Float(generator.nextUnit()))
                    }
                    let norm = weights.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    let scaled = weights.map { $0 / norm }
                    for d in 0..<dimension {
                        var value = mean[d] + spread * spectrum[d] * generator.nextGaussian()
                        for (c, w) in zip(mixed, scaled) { value += w * centers[c * dimension + d] }
                        out[d] = value
                    }
                }
            }
        }
        var rotated = [Float](repeating: 0, count: count * dimension)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(dimension), Int32(dimension),
            scale, latent, Int32(dimension), rotation, Int32(dimension), 0, &rotated, Int32(dimension))
        return rotated
    }

    /// A cluster drawn by the Zipf-like size weights.
    private func pickCluster(_ generator: inout SplitMix64) -> Int {
        let u = generator.nextUnit()
        var cluster = 0
        var high = clusterCount - 1
        while cluster < high {
            let middle = (cluster + high) / 2
            if cumulativeWeights[middle] < u { cluster = middle + 1 } else { high = middle }
        }
        return cluster
    }

    /// Rows quantized like pplx-embed (tanh-INT8).
    public func int8Rows(first: Int, count: Int, queries: Bool = false) -> [Int8] {
        let floats = floatRows(first: first, count: count, queries: queries)
        var out = [Int8](repeating: 0, count: floats.count)
        floats.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { o in
                Int8Quantization.tanh.quantize(f.baseAddress!, count: f.count, into: o.baseAddress!)
            }
        }
        return out
    }
}
