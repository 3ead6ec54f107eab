import CQuarryKernels
import Testing

/// Sign packing (bit order as numpy.packbits: most significant bit first) and counting
/// selection. These kernels have one implementation, so there is no level loop.
struct PackAndSelectTests {
    // MARK: sign packing

    /// Reference: bit 7 of byte 0 is dimension 0; bit = 1 when the value is >= 0.
    static func referencePack<T: Comparable & ExpressibleByIntegerLiteral>(_ values: [T]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (values.count + 7) / 8)
        for (i, v) in values.enumerated() where v >= 0 {
            out[i / 8] |= UInt8(0x80) >> UInt8(i % 8)
        }
        return out
    }

    @Test func packSignsBitOrder() {
        // 1 0 1 0 1 0 1 1 | 1 (then zero padding)
        let values: [Int8] = [0, -1, 5, -128, 127, -3, 0, 1, 2]
        var out = [UInt8](repeating: 0xAA, count: 2)
        qk_pack_signs_i8(values, values.count, &out)
        #expect(out == [0b1010_1011, 0b1000_0000])

        let floats: [Float] = [0, -1, 0.5, -0.001, 3, -.infinity, .infinity, -0.0, -2]
        var fout = [UInt8](repeating: 0xAA, count: 2)
        qk_pack_signs_f32(floats, floats.count, &fout)
        // -0.0 >= 0 holds, so it packs as 1.
        #expect(fout == [0b1010_1011, 0b0000_0000])
    }

    @Test func packSignsMatchesReference() {
        var rng = SplitMix64(seed: 0x5041_434B)
        for dims in [1, 7, 8, 9, 63, 64, 65, 127, 1024, 2560] {
            let ints = randomInt8s(dims, using: &rng)
            var out = [UInt8](repeating: 0xFF, count: (dims + 7) / 8 + 1)
            qk_pack_signs_i8(ints, dims, &out)
            #expect(Array(out.dropLast()) == Self.referencePack(ints), "i8 dims \(dims)")
            #expect(out.last == 0xFF, "wrote past the packed bytes")

            let floats = (0..<dims).map { _ in Float.random(in: -1...1, using: &rng) }
            var fout = [UInt8](repeating: 0xFF, count: (dims + 7) / 8)
            qk_pack_signs_f32(floats, dims, &fout)
            #expect(fout == Self.referencePack(floats), "f32 dims \(dims)")
        }
    }

    // MARK: query planes

    /// Reference: q' = round(q / 2^(8 - bits)) (ties away from zero), clamped, stored as the
    /// bits of q' + 2^(bits - 1) plane by plane.
    static func referencePlanes(_ values: [Int8], bits: Int, codeBytes: Int) -> (
        planes: [UInt8], maximum: Int32, range: Int32
    ) {
        let offset = Int32(1 << (bits - 1))
        var planes = [UInt8](repeating: 0, count: bits * codeBytes)
        var maximum: Int32 = 0
        var range: Int32 = 0
        for (d, value) in values.enumerated() {
            let rounded = Int32((Double(value) / Double(256 >> bits)).rounded(.toNearestOrAwayFromZero))
            let q = min(max(rounded, -offset), offset - 1)
            maximum += max(q, 0)
            range += abs(q)
            for plane in 0..<bits where ((q + offset) >> plane) & 1 == 1 {
                planes[plane * codeBytes + d / 8] |= UInt8(0x80) >> UInt8(d % 8)
            }
        }
        return (planes, maximum, range)
    }

    @Test func queryPlanesMatchReference() {
        var rng = SplitMix64(seed: 0x504C_414E)
        for dims in [1, 9, 64, 1000, 1024] {
            let codeBytes = (dims + 63) / 64 * 8
            // Every INT8 value, then random ones: ties and both clamps are all reached.
            let values = (0..<dims).map {
                $0 < 256 ? Int8(truncatingIfNeeded: $0) : Int8.random(in: .min ... .max, using: &rng)
            }
            for bits in 1...8 {
                var planes = [UInt8](repeating: 0xFF, count: bits * codeBytes)
                var maximum: Int32 = -1
                var range: Int32 = -1
                qk_query_planes(values, dims, Int32(bits), codeBytes, &planes, &maximum, &range)
                let expected = Self.referencePlanes(values, bits: bits, codeBytes: codeBytes)
                #expect(planes == expected.planes, "dims \(dims) bits \(bits)")
                #expect(maximum == expected.maximum && range == expected.range, "dims \(dims) bits \(bits)")
            }
        }
    }

    // MARK: selection

    static func select(_ distances: [UInt16], m: Int, maxValue: UInt16) -> [UInt32] {
        var histogram = [UInt32](repeating: 0, count: Int(maxValue) + 1)
        var out = [UInt32](repeating: .max, count: max(min(m, distances.count), 1))
        let written = qk_select_smallest_u16(
            distances, distances.count, m, maxValue, &histogram, &out)
        #expect(written == min(m, distances.count))
        return Array(out.prefix(written)).sorted()
    }

    /// Reference: sort positions by (distance, position) and keep the first m.
    static func referenceSelect(_ distances: [UInt16], m: Int) -> [UInt32] {
        let order = distances.indices.sorted { (distances[$0], $0) < (distances[$1], $1) }
        return order.prefix(m).map { UInt32($0) }.sorted()
    }

    @Test func selectBreaksTiesByPosition() {
        let d: [UInt16] = [3, 1, 2, 1, 3, 0]
        #expect(Self.select(d, m: 1, maxValue: 3) == [5])
        #expect(Self.select(d, m: 2, maxValue: 3) == [1, 5])
        #expect(Self.select(d, m: 3, maxValue: 3) == [1, 3, 5])
        #expect(Self.select(d, m: 5, maxValue: 3) == [0, 1, 2, 3, 5])
    }

    @Test func selectEdgeCases() {
        let d: [UInt16] = [4, 2, 9]
        #expect(Self.select(d, m: 0, maxValue: 9) == [])
        #expect(Self.select([], m: 4, maxValue: 9) == [])
        #expect(Self.select(d, m: 3, maxValue: 9) == [0, 1, 2])
        #expect(Self.select(d, m: 10, maxValue: 9) == [0, 1, 2])
        let equal = [UInt16](repeating: 7, count: 10)
        #expect(Self.select(equal, m: 4, maxValue: 7) == [0, 1, 2, 3])
        let zeros = [UInt16](repeating: 0, count: 5)
        #expect(Self.select(zeros, m: 2, maxValue: 0) == [0, 1])
        let top = [UInt16](repeating: 1024, count: 5) + [3]
        #expect(Self.select(top, m: 3, maxValue: 1024) == [0, 1, 5])
    }

    @Test func selectMatchesReference() {
        var rng = SplitMix64(seed: 0x5345_4C45)
        for n in [1, 3, 17, 1000] {
            for maxValue: UInt16 in [0, 5, 1024] {
                let d = (0..<n).map { _ in UInt16.random(in: 0...maxValue, using: &rng) }
                for m in [1, 2, 10, n - 1, n] where m >= 1 {
                    #expect(
                        Self.select(d, m: m, maxValue: maxValue) == Self.referenceSelect(d, m: m),
                        "n \(n) max \(maxValue) m \(m)")
                }
            }
        }
    }
}
