import CQuarryKernels
import Testing

/// The numeric range kernel of filters against a scalar reference.
@Suite struct RangeMaskTests {
    @Test(arguments: [0, 1, 63, 64, 65, 4_095, 4_096])
    func masksEqualTheScalarReference(count: Int) {
        var state: UInt64 = 0x5EED &+ UInt64(count)
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 10, 20]
        let values = (0..<count).map { index in
            index % 9 == 0 ? specials[index / 9 % specials.count] : Double(next() % 4000) / 100 - 5
        }
        // An odd byte offset: stored values need not be aligned.
        var bytes = [UInt8](repeating: 0, count: 8 * count + 1)
        for (index, value) in values.enumerated() {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { raw in
                for b in 0..<8 { bytes[1 + 8 * index + b] = raw[b] }
            }
        }
        for (lower, upper) in [
            (10.0, 20.0), (-Double.infinity, 0), (5, 5), (30, -30), (-Double.infinity, Double.infinity),
        ] {
            var words = [UInt64](repeating: .max, count: (count + 63) / 64)
            bytes.withUnsafeBytes { raw in
                words.withUnsafeMutableBufferPointer {
                    qk_range_mask_f64(raw.baseAddress! + 1, count, lower, upper, $0.baseAddress)
                }
            }
            for (index, value) in values.enumerated() {
                let set = words[index / 64] & (1 << UInt64(index % 64)) != 0
                #expect(set == (value >= lower && value <= upper), "value \(value) in \(lower)...\(upper)")
            }
            // Bits past the count are cleared.
            if count % 64 != 0, let last = words.last { #expect(last >> UInt64(count % 64) == 0) }
        }
    }
}
