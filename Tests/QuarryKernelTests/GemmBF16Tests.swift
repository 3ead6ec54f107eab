import CQuarryKernels
import Testing

/// The BF16 matrix product of the encoders at every level against a naive Swift reference
/// that adds the products in the kernels' order (each pair's odd element, then its even one):
/// equal bit for bit, since a product of two BF16 values is exact in F32. An extension of the
/// serialized `KernelTests`, since these tests switch the process-wide dispatch level.
extension KernelTests {
    /// `value` rounded to BF16 and widened back.
    private static func bf16(_ value: Float) -> Float { qk_f32_from_bf16(qk_bf16_from_f32(value)) }

    /// A packed BF16 weight matrix and activations rounded to BF16, from a seed.
    private struct BF16Case {
        let m: Int, n: Int, k: Int
        let stride: Int
        let inputs: [Float]
        let weights: [Float]
        var activations: [UInt16]
        var packed: [UInt16]

        init(m: Int, n: Int, k: Int, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            self.m = m
            self.n = n
            self.k = k
            stride = (k + 1) / 2 * 2 + 2  // rows wider than needed: the kernels honour the stride
            inputs = (0..<m * k).map { _ in Float.random(in: -4...4, using: &rng) }
            weights = (0..<n * k).map { _ in Float.random(in: -0.25...0.25, using: &rng) }
            activations = [UInt16](repeating: 0x7fc0, count: m * stride)
            packed = [UInt16](repeating: 1, count: qk_gemm_bf16_packed_count(n, k))
            qk_gemm_bf16_pack(weights, n, k, &packed)
        }

        mutating func roundActivations(level: Int32) {
            atLevel(level) { qk_round_rows_bf16(inputs, m, k, k, &activations, stride) }
        }

        /// sum_k x[i, k] w[j, k] the slow way, in the kernels' order of additions.
        var products: [Float] {
            let x = inputs.map(bf16)
            let w = weights.map(bf16)
            var c = [Float](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Float = 0
                    for pair in 0..<(k + 1) / 2 {
                        let odd = 2 * pair + 1
                        if odd < k { sum = sum + x[i * k + odd] * w[j * k + odd] }
                        sum = sum + x[i * k + 2 * pair] * w[j * k + 2 * pair]
                    }
                    c[i * n + j] = sum
                }
            }
            return c
        }
    }

    @Test(arguments: supportedLevels)
    func gemmBF16MatchesTheReference(level: Int32) {
        var rng = SplitMix64(seed: 7)
        for (index, shape) in Self.gemmShapes.enumerated() {
            var instance = BF16Case(m: shape.m, n: shape.n, k: shape.k, seed: UInt64(200 + index))
            instance.roundActivations(level: level)
            let bias = (0..<shape.n).map { _ in Float.random(in: -1...1, using: &rng) }
            let start = (0..<shape.m * shape.n).map { _ in Float.random(in: -1...1, using: &rng) }
            let products = instance.products
            for (withBias, accumulate) in [(false, false), (true, false), (true, true), (false, true)] {
                var out = start
                atLevel(level) {
                    bias.withUnsafeBufferPointer { bias in
                        qk_gemm_bf16_f32(
                            instance.activations, instance.stride, shape.m, shape.k, instance.packed, shape.n,
                            withBias ? bias.baseAddress : nil, accumulate ? 1 : 0, &out, shape.n)
                    }
                }
                var wanted = start
                for i in 0..<shape.m {
                    for j in 0..<shape.n {
                        var value = products[i * shape.n + j]
                        if withBias { value = value + bias[j] }
                        wanted[i * shape.n + j] = accumulate ? wanted[i * shape.n + j] + value : value
                    }
                }
                #expect(
                    out.map(\.bitPattern) == wanted.map(\.bitPattern),
                    "shape \(shape), bias \(withBias), accumulate \(accumulate), level \(level)")
            }
        }
    }

    /// The same product held to a double-precision sum of the unrounded inputs, within what
    /// BF16's 8-bit significands allow: |error| ≤ 2⁻⁸ Σ|x w| (each factor off by at most 2⁻⁹
    /// relative) plus F32's summation error.
    @Test func gemmBF16IsCloseToTheExactProduct() {
        let instance = {
            var instance = BF16Case(m: 7, n: 65, k: 1541, seed: 300)
            instance.roundActivations(level: qk_active_level())
            return instance
        }()
        var out = [Float](repeating: 0, count: instance.m * instance.n)
        qk_gemm_bf16_f32(
            instance.activations, instance.stride, instance.m, instance.k, instance.packed, instance.n, nil, 0, &out,
            instance.n)
        for i in 0..<instance.m {
            for j in 0..<instance.n {
                var exact = 0.0
                var magnitude = 0.0
                for p in 0..<instance.k {
                    let product =
                        Double(instance.inputs[i * instance.k + p]) * Double(instance.weights[j * instance.k + p])
                    exact += product
                    magnitude += abs(product)
                }
                let bound = magnitude * (1.0 / 256 + Double(instance.k) * 6e-8)
                #expect(abs(Double(out[i * instance.n + j]) - exact) <= bound, "row \(i), column \(j)")
            }
        }
    }

    @Test func bf16RoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3f80), (-2, 0xc000), (0, 0), (-0.0, 0x8000),
            (Float(bitPattern: 0x3f80_8000), 0x3f80),  // a tie, to the even 0x3f80
            (Float(bitPattern: 0x3f81_8000), 0x3f82),  // a tie, to the even 0x3f82
            (Float(bitPattern: 0x3f80_8001), 0x3f81),  // just past the tie
            (Float(bitPattern: 0x3f80_7fff), 0x3f80),
            (.infinity, 0x7f80), (-.infinity, 0xff80), (.greatestFiniteMagnitude, 0x7f80),  // rounds up to inf
            (Float(bitPattern: 0x0000_0001), 0), (-Float(bitPattern: 0x007f_ffff), 0x8000),  // subnormals flush
            (.leastNormalMagnitude, 0x0080),
        ]
        for (value, wanted) in cases {
            #expect(qk_bf16_from_f32(value) == wanted, "\(value.bitPattern)")
        }
        #expect(qk_f32_from_bf16(qk_bf16_from_f32(.nan)).isNaN)
        #expect(qk_f32_from_bf16(0x4049) == Float(bitPattern: 0x4049_0000))
    }

    /// Every level rounds activation rows as `qk_bf16_from_f32` does, special values included,
    /// and pads each row with zeros.
    @Test(arguments: supportedLevels)
    func bf16RowsRoundAlikeAtEveryLevel(level: Int32) {
        var rng = SplitMix64(seed: 11)
        let specials: [Float] = [
            0, -0.0, .infinity, -.infinity, .nan, Float(bitPattern: 1), -Float(bitPattern: 0x7f_ffff),
            .greatestFiniteMagnitude, Float(bitPattern: 0x3f80_8000), Float(bitPattern: 0x3f81_8000),
        ]
        for k in [1, 2, 15, 16, 17, 31, 32, 33, 384, 1541] {
            let rows = 3
            let ldx = k + 3
            var inputs = (0..<rows * ldx).map { _ in Float.random(in: -100...100, using: &rng) }
            for (index, special) in specials.enumerated() where index < k { inputs[ldx + index] = special }
            let stride = (k + 1) / 2 * 2 + 2
            var out = [UInt16](repeating: 0xffff, count: rows * stride)
            atLevel(level) { qk_round_rows_bf16(inputs, rows, k, ldx, &out, stride) }
            for row in 0..<rows {
                let wanted = (0..<k).map { qk_bf16_from_f32(inputs[row * ldx + $0]) }
                let got = Array(out[row * stride..<row * stride + k])
                #expect(got == wanted, "k \(k), row \(row), level \(level)")
                #expect(out[row * stride + k..<(row + 1) * stride].allSatisfy { $0 == 0 }, "padding, k \(k)")
            }
        }
    }
}
