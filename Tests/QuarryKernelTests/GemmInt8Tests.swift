import CQuarryKernels
import Testing

/// The INT8 matrix product of the quantized encoders at every level against a naive Swift
/// reference: exact integer equality, and the dequantized floats bit for bit. An extension of
/// the serialized `KernelTests`, since these tests switch the process-wide dispatch level.
extension KernelTests {
    /// (rows, output channels, inner size): tails of every tile dimension (6 rows; 16 and 64
    /// channels for VNNI, 8 for AVX2; groups of 4), a single element, the shapes of
    /// all-MiniLM-L6-v2's layers, and more rows than one AVX2 block of widened activations holds
    /// (96 KiB: 30 rows at k = 1,541, 126 at k = 384), ending in a partial tile and strip.
    static let gemmShapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 16, 4), (5, 17, 3), (6, 64, 8), (7, 65, 9), (5, 12, 7), (6, 8, 16), (13, 33, 130),
        (12, 130, 259), (6, 1536, 384), (7, 384, 1536), (37, 21, 1541), (131, 40, 384),
    ]

    /// A packed weight matrix and its quantized offset-binary activations, from a seed.
    private struct GemmCase {
        let m: Int, n: Int, k: Int
        let stride: Int
        let activations: [UInt8]
        let weights: [Int8]
        var packed: [Int8]
        var sums: [Int32]

        init(m: Int, n: Int, k: Int, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            self.m = m
            self.n = n
            self.k = k
            stride = (k + 3) / 4 * 4 + 4  // rows wider than needed: the kernels honour the stride
            activations = randomBytes(m * stride, using: &rng)
            // The extremes are included: vpdpbusd's 8-bit products must not saturate.
            var weights = randomInt8s(n * k, using: &rng)
            if !weights.isEmpty {
                weights[0] = -128
                weights[weights.count - 1] = 127
            }
            self.weights = weights
            packed = [Int8](repeating: 1, count: qk_gemm_i8_packed_bytes(n, k))
            sums = [Int32](repeating: 0, count: n)
            qk_gemm_i8_pack(weights, n, k, &packed, &sums)
        }

        /// sum_k (a - 128) * w, computed the slow way.
        var reference: [Int32] {
            var c = [Int32](repeating: 0, count: m * n)
            for i in 0..<m {
                for j in 0..<n {
                    var total: Int32 = 0
                    for p in 0..<k { total += (Int32(activations[i * stride + p]) - 128) * Int32(weights[j * k + p]) }
                    c[i * n + j] = total
                }
            }
            return c
        }

        func product(level: Int32) -> [Int32] {
            var c = [Int32](repeating: -1, count: m * n)
            atLevel(level) { qk_gemm_u8i8_i32(activations, stride, m, k, packed, sums, n, &c, n) }
            return c
        }
    }

    @Test(arguments: supportedLevels)
    func gemmInt8IsExact(level: Int32) {
        for (index, shape) in Self.gemmShapes.enumerated() {
            let instance = GemmCase(m: shape.m, n: shape.n, k: shape.k, seed: UInt64(index))
            #expect(instance.product(level: level) == instance.reference, "shape \(shape) at level \(level)")
        }
    }

    @Test func packingKeepsRowSumsAndZeroPadding() {
        let instance = GemmCase(m: 1, n: 17, k: 5, seed: 9)
        for row in 0..<17 {
            #expect(instance.sums[row] == (0..<5).reduce(Int32(0)) { $0 + Int32(instance.weights[row * 5 + $1]) })
        }
        // Two panels of 16 rows × 2 groups × 4 values; only the first 5 of each row's 8 are set.
        #expect(instance.packed.count == 32 * 8)
        for panel in 0..<2 {
            for group in 0..<2 {
                for lane in 0..<16 {
                    for j in 0..<4 {
                        let row = panel * 16 + lane
                        let column = group * 4 + j
                        let wanted = row < 17 && column < 5 ? instance.weights[row * 5 + column] : 0
                        #expect(instance.packed[(panel * 2 + group) * 64 + lane * 4 + j] == wanted)
                    }
                }
            }
        }
    }

    @Test(arguments: supportedLevels)
    func gemmInt8DequantizesLikeTheReference(level: Int32) {
        var rng = SplitMix64(seed: 42)
        for (index, shape) in Self.gemmShapes.enumerated() {
            let instance = GemmCase(m: shape.m, n: shape.n, k: shape.k, seed: UInt64(100 + index))
            let exact = instance.reference
            let rowScales = (0..<shape.m).map { _ in Float.random(in: 0.001...1, using: &rng) }
            let columnScales = (0..<shape.n).map { _ in Float.random(in: 0.001...1, using: &rng) }
            let bias = (0..<shape.n).map { _ in Float.random(in: -1...1, using: &rng) }
            let start = (0..<shape.m * shape.n).map { _ in Float.random(in: -1...1, using: &rng) }
            for (withBias, accumulate) in [(false, false), (true, false), (true, true), (false, true)] {
                var out = start
                atLevel(level) {
                    bias.withUnsafeBufferPointer { bias in
                        qk_gemm_u8i8_f32(
                            instance.activations, instance.stride, shape.m, shape.k, instance.packed, instance.sums,
                            shape.n, rowScales, columnScales, withBias ? bias.baseAddress : nil, accumulate ? 1 : 0,
                            &out, shape.n)
                    }
                }
                var wanted = start
                for i in 0..<shape.m {
                    for j in 0..<shape.n {
                        var value = Float(exact[i * shape.n + j]) * (rowScales[i] * columnScales[j])
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

    @Test(arguments: supportedLevels)
    func quantizedRowsRoundToNearestWithOneScaleEach(level: Int32) {
        let rows: [[Float]] = [
            [0.5, -1, 0.25, 0.0039, -0.0039, 0.7],  // largest |x| 1: q = round(127 x)
            [0, 0, 0, 0, 0, 0],  // all zero: scale 0, q 0
            [.nan, 1, 2, 3, 4, 5],  // not finite: zeros rather than undefined conversions
            [3, -3, 1.52, -1.52, 0.0118, 2.9999],
        ]
        let k = 6
        let stride = 8
        var q = [UInt8](repeating: 7, count: rows.count * stride)
        var scales = [Float](repeating: -1, count: rows.count)
        atLevel(level) { qk_quantize_rows_u8(rows.flatMap { $0 }, rows.count, k, k, &q, stride, &scales) }
        let expected: [[Int]] = [
            [64, -127, 32, 0, 0, 89], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [127, -127, 64, -64, 0, 127],
        ]
        for (row, wanted) in expected.enumerated() {
            #expect(q[row * stride..<row * stride + k].map { Int($0) - 128 } == wanted, "row \(row)")
            #expect(q[row * stride + k..<(row + 1) * stride].allSatisfy { $0 == 128 }, "padding of row \(row)")
        }
        #expect(scales == [Float(1) / 127, 0, 0, Float(3) / 127])
    }

    /// Every level quantizes as the portable loop does, byte for byte, at widths around the
    /// vector lanes and with rows that hold an infinity, a NaN, or only zeros.
    @Test(arguments: supportedLevels)
    func quantizedRowsAreTheSameAtEveryLevel(level: Int32) {
        var rng = SplitMix64(seed: 5)
        for k in [1, 3, 15, 16, 17, 33, 384, 1541] {
            let rows = 4
            let ldx = k + 5
            let stride = (k + 3) / 4 * 4 + 4
            var inputs = (0..<rows * ldx).map { _ in Float.random(in: -3...3, using: &rng) }
            inputs[ldx + k - 1] = .infinity
            inputs[2 * ldx + k / 2] = .nan
            for i in 0..<k { inputs[3 * ldx + i] = 0 }
            var wanted = [UInt8](repeating: 7, count: rows * stride)
            var wantedScales = [Float](repeating: -1, count: rows)
            atLevel(0) { qk_quantize_rows_u8(inputs, rows, k, ldx, &wanted, stride, &wantedScales) }
            var got = [UInt8](repeating: 9, count: rows * stride)
            var scales = [Float](repeating: -2, count: rows)
            atLevel(level) { qk_quantize_rows_u8(inputs, rows, k, ldx, &got, stride, &scales) }
            #expect(got == wanted, "k \(k), level \(level)")
            #expect(scales.map(\.bitPattern) == wantedScales.map(\.bitPattern), "k \(k), level \(level)")
            #expect(wantedScales[0] > 0 && wantedScales[1...].allSatisfy { $0 == 0 }, "k \(k)")
        }
    }
}
