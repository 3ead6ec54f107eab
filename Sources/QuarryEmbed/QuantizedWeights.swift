import CQuarryKernels
import Foundation

/// How an encoder stores the weights of its dense layers (embeddings, norms and attention
/// scores stay F32 in every form).
public enum WeightPrecision: String, Sendable, CaseIterable {
    /// The checkpoint's values in F32, multiplied by OpenBLAS sgemm: the reference.
    case f32
    /// Weights rounded to BF16, multiplied with activations rounded to BF16 when the layer
    /// runs, the products summed in F32 (AVX-512 BF16 where the CPU has it, else portable C).
    case bf16
    /// INT8 weights with one symmetric scale per output channel, multiplied with activations
    /// quantized per token row when the layer runs (AVX-512 VNNI or AVX2 where the CPU has them).
    case int8

    /// The fastest form whose embeddings keep cosine ≥ 0.99 to F32's on the sample corpus, for
    /// the kernel level this process runs at: INT8 where the INT8 product has a vector kernel
    /// (AVX-512 VNNI, or AVX2's vpmaddwd, measured faster than sgemm: README, Performance), F32
    /// where only the portable kernel would run (it is many times slower than sgemm). BF16 is
    /// never chosen: its vector kernel needs the AVX-512 level, where VNNI INT8 measured 1.5×
    /// BF16 on all-MiniLM-L6-v2 and 1.6× on a Qwen3 of pplx-embed-v1-0.6B's shape (AMD EPYC
    /// with AVX512_BF16, 2 threads, `Benchmarks/encoder/compare_quantized.py`), both within the
    /// bound, and its portable kernel is slower than sgemm.
    public static var fastestAccurate: WeightPrecision {
        qk_active_level() >= Int32(QK_LEVEL_AVX2.rawValue) ? .int8 : .f32
    }
}

/// A `[outputSize, inputSize]` weight matrix quantized per output row (`w ≈ scale * q`, with
/// `scale = max|w| / 127`) and packed for `qk_gemm_u8i8_f32`.
final class QuantizedMatrix: @unchecked Sendable {  // immutable after init
    let packed: UnsafeMutablePointer<Int8>
    /// The sum of each output row's quantized weights (the kernel's offset correction).
    let sums: [Int32]
    let scales: [Float]
    let inputSize: Int
    let outputSize: Int

    init(_ weight: Tensor, inputSize: Int, outputSize: Int) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        var quantized = [Int8](repeating: 0, count: inputSize * outputSize)
        var scales = [Float](repeating: 0, count: outputSize)
        for row in 0..<outputSize {
            let values = UnsafeBufferPointer(start: weight.values + row * inputSize, count: inputSize)
            let largest = values.reduce(Float(0)) { max($0, abs($1)) }
            guard largest > 0, largest.isFinite else { continue }
            let inverse = 127 / largest
            for (column, value) in values.enumerated() {
                quantized[row * inputSize + column] = Int8(
                    max(-127, min(127, (value * inverse).rounded(.toNearestOrEven))))
            }
            scales[row] = largest / 127
        }
        self.scales = scales
        packed = .allocate(capacity: qk_gemm_i8_packed_bytes(outputSize, inputSize))
        var sums = [Int32](repeating: 0, count: outputSize)
        qk_gemm_i8_pack(quantized, outputSize, inputSize, packed, &sums)
        self.sums = sums
    }

    deinit { packed.deallocate() }

    /// Bytes in a row of quantized activations: the input width rounded up to 4.
    var activationStride: Int { (inputSize + 3) / 4 * 4 }

    /// `output[rows, outputSize] = input[rows, inputSize] Wᵀ (+ bias)`, or added to `output`
    /// with `accumulate`: the input quantized per row, the product in integers, then scaled.
    func apply(
        _ input: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let stride = activationStride
        let activations = UnsafeMutablePointer<UInt8>.allocate(capacity: rows * stride)
        defer { activations.deallocate() }
        let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer { rowScales.deallocate() }
        qk_quantize_rows_u8(input, rows, inputSize, inputSize, activations, stride, rowScales)
        sums.withUnsafeBufferPointer { sums in
            scales.withUnsafeBufferPointer { scales in
                qk_gemm_u8i8_f32(
                    activations, stride, rows, inputSize, packed, sums.baseAddress, outputSize, rowScales,
                    scales.baseAddress, bias, accumulate ? 1 : 0, output, outputSize)
            }
        }
    }
}
