import CBLAS
import CQuarryKernels
import Foundation

// Row-major F32 building blocks shared by the encoders. Every matrix product goes through
// OpenBLAS sgemm; the element-wise loops work in place on contiguous buffers.

/// A dense layer `y = x Wᵀ + b` with `W` stored `[outputSize, inputSize]` as PyTorch does, in F32
/// (multiplied by OpenBLAS sgemm), rounded to BF16 (`BF16Matrix`) or quantized to INT8
/// (`QuantizedMatrix`).
struct Linear: Sendable {
    private enum Weights {
        case f32(Tensor)
        case bf16(BF16Matrix)
        case int8(QuantizedMatrix)
    }

    private let weights: Weights
    let bias: Tensor?
    let inputSize: Int
    let outputSize: Int

    /// Loads `name.weight` and, when the checkpoint has it, `name.bias`, keeping the weight in
    /// `precision`.
    init(_ store: TensorStore, _ name: String, inputSize: Int, outputSize: Int, precision: WeightPrecision) throws {
        let weight = try store.tensor(name + ".weight", shape: [outputSize, inputSize])
        switch precision {
        case .f32: weights = .f32(weight)
        case .bf16: weights = .bf16(BF16Matrix(weight, inputSize: inputSize, outputSize: outputSize))
        case .int8: weights = .int8(QuantizedMatrix(weight, inputSize: inputSize, outputSize: outputSize))
        }
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
        switch weights {
        case .int8(let matrix):
            matrix.apply(input, rows: rows, bias: bias?.values, into: output, accumulate: accumulate)
        case .bf16(let matrix):
            matrix.apply(input, rows: rows, bias: bias?.values, into: output, accumulate: accumulate)
        case .f32(let weight):
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
}

// The norms, activations and softmax are CQuarryKernels loops: vectorised, with polynomial exp
// and erf instead of libm calls, and compiled optimised even in debug builds (the test suite).

/// In-place LayerNorm of `rows` rows of `width` values (biased variance, as PyTorch).
func layerNorm(
    _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, weight: Tensor, bias: Tensor, epsilon: Float
) {
    qk_layer_norm_f32(values, rows, width, weight.values, bias.values, epsilon)
}

/// RMSNorm (`x / sqrt(mean(x²) + eps) * weight`) of `rows` rows of `width` values from
/// `input` into `output` (which may be `input`).
func rmsNorm(
    _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, rows: Int, width: Int,
    weight: Tensor, epsilon: Float
) {
    qk_rms_norm_f32(input, output, rows, width, weight.values, epsilon)
}

/// Applies `activation` in place to `count` values.
func activate(_ values: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
    switch activation {
    case .gelu: qk_gelu_erf_f32(values, count)
    case .geluTanh: qk_gelu_tanh_f32(values, count)
    case .silu: qk_silu_f32(values, count)
    case .relu: qk_relu_f32(values, count)
    }
}

/// The gated feed-forward input: `gate[i] = activation(gate[i]) * up[i]` (SwiGLU for SiLU).
func gatedActivation(
    gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, _ activation: Activation
) {
    activate(gate, count: count, activation)
    qk_multiply_f32(gate, up, count)
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
            for row in 0..<rows { qk_softmax_f32(scores + row * length, length) }
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(d), Int32(length), 1,
                scores, Int32(length), values + keyValueOffset, keyValueStride, 0,
                output + firstRow * shape.queryWidth + head * d, queryStride)
            firstRow += rows
        }
    }
}
