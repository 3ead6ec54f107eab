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
public struct SyntheticEmbeddings: Sendable {
    public var dimension: Int
    public var clusterCount: Int
    public var seed: UInt64
    /// Standard deviation of the raw floats before tanh, per component.
    public var scale: Float = 0.35

    private static let meanEnergy: Float = 0.25
    private static let topicEnergy: Float = 0.20
    private static let clusterEnergy: Float = 0.25
    private static let noiseEnergy: Float = 0.30

    private let spectrum: [Float]
    private let rotation: [Float]
    private let mean: [Float]
    private let centers: [Float]
    private let spreads: [Float]
    private let cumulativeWeights: [Double]

    public init(dimension: Int, clusterCount: Int, seed: UInt64 = 42) {
        precondition(dimension > 0 && clusterCount > 0)
        self.dimension = dimension
        self.clusterCount = clusterCount
        self.seed = seed
        var generator = SplitMix64(seed: seed)
        // Standard deviation per latent axis: variance decays as d^-0.7, normalised to mean 1.
        let raw = (0..<dimension).map { Float(pow(Double($0 + 1), -0.35)) }
        let meanSquare = raw.reduce(0) { $0 + $1 * $1 } / Float(dimension)
        let spectrum = raw.map { $0 / meanSquare.squareRoot() }
        self.spectrum = spectrum
        rotation = (0..<dimension * dimension).map { _ in generator.nextGaussian() / Float(dimension).squareRoot() }
        mean = (0..<dimension).map { _ in Self.meanEnergy.squareRoot() * generator.nextGaussian() }
        let topicCount = max(1, clusterCount / 10)
        let topics = (0..<topicCount * dimension).map { i in
            Self.topicEnergy.squareRoot() * spectrum[i % dimension] * generator.nextGaussian()
        }
        var centers = [Float](repeating: 0, count: clusterCount * dimension)
        for cluster in 0..<clusterCount {
            let topic = Int(generator.next() % UInt64(topicCount))
            for d in 0..<dimension {
                centers[cluster * dimension + d] =
                    topics[topic * dimension + d]
                    + Self.clusterEnergy.squareRoot() * spectrum[d] * generator.nextGaussian()
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
        let noise: Float = Self.noiseEnergy.squareRoot() * (queries ? 1.25 : 1.0)
        let stream: UInt64 = queries ? 0x51 : 0xBA
        let rowsPerTask = 256
        let tasks = (count + rowsPerTask - 1) / rowsPerTask
        latent.withUnsafeMutableBufferPointer { output in
            concurrently(tasks) { task in
                for row in task * rowsPerTask..<min(count, (task + 1) * rowsPerTask) {
                    var generator = SplitMix64(seed: seed ^ (stream << 56) ^ UInt64(first + row) &* 0x9E37_79B9)
                    let u = generator.nextUnit()
                    var cluster = 0
                    var high = clusterCount - 1
                    while cluster < high {
                        let middle = (cluster + high) / 2
                        if cumulativeWeights[middle] < u { cluster = middle + 1 } else { high = middle }
                    }
                    let spread = spreads[cluster] * noise
                    let out = output.baseAddress! + row * dimension
                    for d in 0..<dimension {
                        out[d] =
                            mean[d] + centers[cluster * dimension + d]
                            + spread * spectrum[d] * generator.nextGaussian()
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
