import CQuarryKernels
import Foundation
import Testing

/// The F32 encoder kernels against double-precision references. An extension of the serialized
/// `KernelTests`, since these tests also switch the process-wide dispatch level.
extension KernelTests {
    static let floatLengths = [0, 1, 5, 15, 16, 17, 33, 384, 1000]

    /// Every 1/1024 from -12 to 12, plus zeros, tiny and huge values.
    static let activationInputs: [Float] =
        (-12 * 1024...12 * 1024).map { Float($0) / 1024 } + [
            -0.0, 1e-30, -1e-30, 1e-3, -1e-3, 50, -50, 100, -100, 1e4, -1e4,
        ]

    /// `values` after `kernel`, as a new array.
    private func applied(_ values: [Float], _ kernel: (UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        var result = values
        result.withUnsafeMutableBufferPointer { kernel($0.baseAddress!, $0.count) }
        return result
    }

    /// Worst error of `actual` against `reference`, in units of `absolute + relative * |reference|`.
    private func worstError(
        _ actual: [Float], _ inputs: [Float], reference: (Double) -> Double, absolute: Double, relative: Double
    ) -> Double {
        zip(actual, inputs).map { value, x in
            let wanted = reference(Double(x))
            return abs(Double(value) - wanted) / (absolute + relative * abs(wanted))
        }.max() ?? 0
    }

    @Test(arguments: supportedLevels)
    func activationsMatchDoublePrecision(level: Int32) {
        let x = Self.activationInputs
        let (gelu, geluTanh, silu) = atLevel(level) {
            (applied(x, qk_gelu_erf_f32), applied(x, qk_gelu_tanh_f32), applied(x, qk_silu_f32))
        }
        // One F32 ulp is 1.2e-7 relative; erf is good to 1.5e-7 absolute.
        let geluError = worstError(
            gelu, x, reference: { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }, absolute: 2e-7, relative: 2.5e-7)
        #expect(geluError <= 1, "GELU error \(geluError) at level \(level)")
        let tanhError = worstError(
            geluTanh, x, reference: { 0.5 * $0 * (1 + tanh(0.7978845608028654 * ($0 + 0.044715 * $0 * $0 * $0))) },
            absolute: 2e-7, relative: 2.5e-7)
        #expect(tanhError <= 1, "tanh GELU error \(tanhError) at level \(level)")
        let siluError = worstError(
            silu, x, reference: { $0 / (1 + exp(-$0)) }, absolute: 1e-30, relative: 2.5e-7)
        #expect(siluError <= 1, "SiLU error \(siluError) at level \(level)")
        #expect(applied(x, qk_relu_f32) == x.map { max($0, 0) })
    }

    @Test func everyLevelGivesIdenticalBits() {
        var rng = SplitMix64(seed: 0x4645_4C55)
        for count in Self.floatLengths {
            let x = (0..<count).map { _ in Float.random(in: -20...20, using: &rng) }
            let kernels: [(UnsafeMutablePointer<Float>, Int) -> Void] = [
                qk_gelu_erf_f32, qk_gelu_tanh_f32, qk_silu_f32, qk_softmax_f32,
            ]
            for (index, kernel) in kernels.enumerated() {
                let results = supportedLevels.map { level in
                    atLevel(level) { applied(x, kernel).map(\.bitPattern) }
                }
                #expect(Set(results).count == 1, "kernel \(index), \(count) values")
            }
        }
    }

    @Test(arguments: supportedLevels)
    func softmaxMatchesDoublePrecision(level: Int32) {
        var rng = SplitMix64(seed: 0x534D_4158 + UInt64(level))
        for count in Self.floatLengths {
            for range: Float in [1, 30, 200] {
                let x = (0..<count).map { _ in Float.random(in: -range...range, using: &rng) }
                let actual = atLevel(level) { applied(x, qk_softmax_f32) }
                let largest = Double(x.max() ?? 0)
                let exponentials = x.map { exp(Double($0) - largest) }
                let total = exponentials.reduce(0, +)
                // Rounding x - max to F32 alone costs up to half an ulp of the difference in the exponent.
                let worst = (0..<count).map { i in
                    let wanted = exponentials[i] / total
                    let allowed = 4e-7 + 6e-8 * (largest - Double(x[i]))
                    return abs(Double(actual[i]) - wanted) / (wanted + 1e-30) / allowed
                }.max()
                #expect((worst ?? 0) <= 1, "\(count) values in ±\(range) at level \(level)")
            }
        }
    }

    @Test func normsMatchDoublePrecision() {
        var rng = SplitMix64(seed: 0x4E4F_524D)
        for width in [1, 7, 16, 33, 128, 384, 1000] {
            let rows = 3
            let x = (0..<rows * width).map { _ in Float.random(in: -4...6, using: &rng) }
            let gain = (0..<width).map { _ in Float.random(in: 0.5...2, using: &rng) }
            let shift = (0..<width).map { _ in Float.random(in: -1...1, using: &rng) }
            let epsilon: Float = 1e-6

            var layer = x
            qk_layer_norm_f32(&layer, rows, width, gain, shift, epsilon)
            var rms = [Float](repeating: .nan, count: x.count)
            qk_rms_norm_f32(x, &rms, rows, width, gain, epsilon)
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer {
                qk_rms_norm_f32($0.baseAddress!, $0.baseAddress!, rows, width, gain, epsilon)
            }
            #expect(inPlace == rms)

            for row in 0..<rows {
                let values = x[row * width..<(row + 1) * width].map(Double.init)
                let mean = values.reduce(0, +) / Double(width)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
                let meanSquare = values.map { $0 * $0 }.reduce(0, +) / Double(width)
                for i in 0..<width {
                    let wantedLayer =
                        (values[i] - mean) / (variance + Double(epsilon)).squareRoot() * Double(gain[i])
                        + Double(shift[i])
                    let wantedRMS = values[i] / (meanSquare + Double(epsilon)).squareRoot() * Double(gain[i])
                    #expect(abs(Double(layer[row * width + i]) - wantedLayer) <= 1e-5, "LayerNorm width \(width)")
                    #expect(abs(Double(rms[row * width + i]) - wantedRMS) <= 1e-5, "RMSNorm width \(width)")
                }
            }
        }
    }

    @Test func multiplyIsElementWise() {
        var values: [Float] = [1, -2, 3, 0.5, 7]
        qk_multiply_f32(&values, [2, 2, -1, 4, 0], values.count)
        #expect(values == [2, -4, -3, 2, 0])
    }
}
