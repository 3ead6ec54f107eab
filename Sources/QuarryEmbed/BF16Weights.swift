import CQuarryKernels

/// A `[outputSize, inputSize]` weight matrix rounded to BF16 (to nearest, ties to even) and
/// packed for `qk_gemm_bf16_f32`.
final class BF16Matrix: @unchecked Sendable {  // immutable after init
    let packed: UnsafeMutablePointer<UInt16>
    let inputSize: Int
    let outputSize: Int

    init(_ weight: Tensor, inputSize: Int, outputSize: Int) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        packed = .allocate(capacity: qk_gemm_bf16_packed_count(outputSize, inputSize))
        qk_gemm_bf16_pack(weight.values, outputSize, inputSize, packed)
    }

    deinit { packed.deallocate() }

    /// Elements in a row of BF16 activations: the input width rounded up to 2.
    var activationStride: Int { (inputSize + 1) / 2 * 2 }

    /// `output[rows, outputSize] = input[rows, inputSize] Wᵀ (+ bias)`, or added to `output`
    /// with `accumulate`: the input rounded to BF16, the products summed in F32.
    func apply(
        _ input: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let stride = activationStride
        let activations = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * stride)
        defer { activations.deallocate() }
        qk_round_rows_bf16(input, rows, inputSize, inputSize, activations, stride)
        qk_gemm_bf16_f32(
            activations, stride, rows, inputSize, packed, outputSize, bias, accumulate ? 1 : 0, output, outputSize)
    }
}
