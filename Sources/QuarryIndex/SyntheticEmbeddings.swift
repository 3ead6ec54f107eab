import CBLAS
import Foundation

/// Synthetic embeddings shaped like real ones: a common mean direction shared by all vectors,
/// clusters of unequal sizes, a decaying (anisotropic) spectrum of variance, then a random
/// rotation so no axis is special, and pplx-embed's tanh-INT8 quantization. Queries are drawn
/// from the same clusters with more spread, separately from the base set.
public struct SyntheticEmbeddings: Sendable {
    public var dimension: Int
    public var clusterCount: Int
    public var seed: UInt64
    /// Per-component scale of the raw floats before tanh (about the standard deviation).
    public var scale: Float = 0.6

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
        // Variance decays as a power law; normalised to a mean of 1 per component.
        let raw = (0..<dimension).map { Float(pow(Double($0 + 1), -0.7)) }
        let meanSquare = raw.reduce(0) { $0 + $1 * $1 } / Float(dimension)
        spectrum = raw.map { $0 / meanSquare.squareRoot() }
        rotation = (0..<dimension * dimension).map { _ in generator.nextGaussian() / Float(dimension).squareRoot() }
        mean = (0..<dimension).map { _ in 0.8 * generator.nextGaussian() }
        centers = (0..<clusterCount * dimension).map { i in generator.nextGaussian() * raw[i % dimension] * 1.2 }
        spreads = (0..<clusterCount).map { _ in Float(0.5 + 0.5 * generator.nextUnit()) }
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
        let noise: Float = queries ? 1.25 : 1.0
        let stream: UInt64 = queries ? 0x51 : 0xBA
        let rowsPerTask = 256
        let tasks = (count + rowsPerTask - 1) / rowsPerTask
        latent.withUnsafeMutableBufferPointer { buffer in
            let output = UnsafeSendablePointer(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: tasks) { task in
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
                    let out = output.pointer + row * dimension
                    for d in 0..<dimension {
                        out[d] =
                            mean[d] + centers[cluster * dimension + d]
                            + spread * spectrum[d] * 0.45 * generator.nextGaussian()
                    }
                }
            }
        }
        var rotated = [Float](repeating: 0, count: count * dimension)
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(dimension), Int32(dimension),
            scale / 1.6, latent, Int32(dimension), rotation, Int32(dimension), 0, &rotated, Int32(dimension))
        return rotated
    }

    /// Rows quantized like pplx-embed (tanh-INT8).
    public func int8Rows(first: Int, count: Int, queries: Bool = false) -> [Int8] {
        let floats = floatRows(first: first, count: count, queries: queries)
        var out = [Int8](repeating: 0, count: floats.count)
        floats.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { o in
                Quantization.tanh.quantize(f.baseAddress!, count: f.count, into: o.baseAddress!)
            }
        }
        return out
    }
}

/// A pointer handed to concurrent iterations that write disjoint parts of one buffer.
struct UnsafeSendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
