import CBLAS
import Foundation

// Row-major F32 building blocks shared by the encoders. Every matrix product goes through
// OpenBLAS sgemm; the element-wise loops work in place on contiguous buffers.

/// A dense layer `y = x Wᵀ + b` with `W` stored `[outputSize, inputSize]` as PyTorch does.
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor?
    let inputSize: Int
    let outputSize: Int

    /// Loads `name.weight` and, when the checkpoint has it, `name.bias`.
    init(_ store: TensorStore, _ name: String, inputSize: Int, outputSize: Int) throws {
        weight = try store.tensor(name + ".weight", shape: [outputSize, inputSize])
        bias = store.contains(name + ".bias") ? try store.tensor(name + ".bias", shape: [outputSize]) : nil
        self.inputSize = inputSize
        self.outputSize = outputSize
    }

    /// `output[rows, outputSize] = input[rows, inputSize] Wᵀ + b`; with `accumulate` the
    /// product is added to what `output` already holds (a residual connection).
    func apply(
        _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        if let bias {
            for row in 0..<rows {
                let target = output + row * outputSize
                if accumulate {
                    cblas_saxpy(Int32(outputSize), 1, bias.values, 1, target, 1)
                } else {
                    target.update(from: bias.values, count: outputSize)
                }
            }
        }
        let beta: Float = accumulate || bias != nil ? 1 : 0
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputSize), Int32(inputSize),
            1, input, Int32(inputSize), weight.values, Int32(inputSize), beta, output, Int32(outputSize))
    }
}

// The norms and softmax use BLAS level-1 calls for their reductions and scalings: as fast as
// hand-written loops in release builds, and they keep debug builds (the test suite) fast too.

/// In-place LayerNorm of `rows` rows of `width` values (biased variance, as PyTorch).
func layerNorm(
    _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, weight: Tensor, bias: Tensor, epsilon: Float
) {
    let gain = weight.values
    let shift = bias.values
    let n = Int32(width)
    let ones = [Float](repeating: 1, count: width)
    for row in 0..<rows {
        let x = values + row * width
        let mean = cblas_sdot(n, x, 1, ones, 1) / Float(width)
        cblas_saxpy(n, -mean, ones, 1, x, 1)
        let variance = cblas_sdot(n, x, 1, x, 1) / Float(width)
        cblas_sscal(n, 1 / (variance + epsilon).squareRoot(), x, 1)
        for i in 0..<width { x[i] = x[i] * gain[i] + shift[i] }
    }
}

/// RMSNorm (`x / sqrt(mean(x²) + eps) * weight`) of `rows` rows of `width` values from
/// `input` into `output` (which may be `input`).
func rmsNorm(
    _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, rows: Int, width: Int,
    weight: Tensor, epsilon: Float
) {
    let gain = weight.values
    let n = Int32(width)
    for row in 0..<rows {
        let x = input + row * width
        let y = output + row * width
        let scale = 1 / (cblas_sdot(n, x, 1, x, 1) / Float(width) + epsilon).squareRoot()
        for i in 0..<width { y[i] = gain[i] * (x[i] * scale) }
    }
}

/// Applies `activation` in place to `count` values.
func activate(_ values: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
    switch activation {
    case .gelu:
        let inverseRootTwo: Float = 0.70710678118654752
        for i in 0..<count {
            let x = values[i]
            values[i] = 0.5 * x * (1 + erf(x * inverseRootTwo))
        }
    case .geluTanh:
        let rootTwoOverPi: Float = 0.79788456080286536
        for i in 0..<count {
            let x = values[i]
            values[i] = 0.5 * x * (1 + tanh(rootTwoOverPi * (x + 0.044715 * x * x * x)))
        }
    case .silu:
        for i in 0..<count {
            let x = values[i]
            values[i] = x / (1 + exp(-x))
        }
    case .relu:
        for i in 0..<count { values[i] = max(values[i], 0) }
    }
}

/// The gated feed-forward input: `gate[i] = activation(gate[i]) * up[i]` (SwiGLU for SiLU).
func gatedActivation(
    gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, _ activation: Activation
) {
    activate(gate, count: count, activation)
    for i in 0..<count { gate[i] *= up[i] }
}

/// Head layout of multi-head attention (grouped-query when `keyValueHeads < heads`).
struct AttentionShape: Sendable {
    let heads: Int
    let keyValueHeads: Int
    let headDimension: Int

    var queryWidth: Int { heads * headDimension }
    var keyValueWidth: Int { keyValueHeads * headDimension }
}

/// Bidirectional scaled dot-product attention within one sequence of `length` tokens: every
/// token attends to every token of the same sequence and to nothing else, which is exactly what
/// a padding mask gives in a padded batch. Queries are `[length, heads * d]`, keys and values
/// `[length, keyValueHeads * d]`; the output is written `[length, heads * d]`. Scores are computed
/// a block of query rows at a time in `scores` (room for `scoreCapacity` floats, at least `length`).
func attend(
    queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, length: Int, shape: AttentionShape,
    scores: UnsafeMutablePointer<Float>, scoreCapacity: Int
) {
    guard length > 0 else { return }
    let d = shape.headDimension
    let queryStride = Int32(shape.queryWidth)
    let keyValueStride = Int32(shape.keyValueWidth)
    let groupSize = shape.heads / shape.keyValueHeads
    let scale = 1 / Float(d).squareRoot()
    let blockRows = max(1, min(length, scoreCapacity / length))
    for head in 0..<shape.heads {
        let keyValueOffset = (head / groupSize) * d
        var firstRow = 0
        while firstRow < length {
            let rows = min(blockRows, length - firstRow)
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(length), Int32(d), scale,
                queries + firstRow * shape.queryWidth + head * d, queryStride,
                keys + keyValueOffset, keyValueStride, 0, scores, Int32(length))
            for row in 0..<rows { softmax(scores + row * length, count: length) }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(length), 1,
                scores, Int32(length), values + keyValueOffset, keyValueStride, 0,
                output + firstRow * shape.queryWidth + head * d, queryStride)
            firstRow += rows
        }
    }
}

/// Numerically stable softmax in place.
func softmax(_ values: UnsafeMutablePointer<Float>, count: Int) {
    var largest = values[0]
    for i in 1..<count where values[i] > largest { largest = values[i] }
    for i in 0..<count { values[i] = exp(values[i] - largest) }
    let n = Int32(count)
    cblas_sscal(n, 1 / cblas_sasum(n, values, 1), values, 1)
}
