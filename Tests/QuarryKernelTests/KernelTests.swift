import CQuarryKernels
import Testing

/// Every SIMD level is compared with scalar Swift references on random and extreme inputs.
/// Serialized because the tests switch the process-wide dispatch level.
@Suite(.serialized)
struct KernelTests {
    static let counts = [0, 1, 3, 17, 1000]
    static let dims = [1, 7, 8, 63, 64, 65, 127, 128, 129, 1024, 2560]

    // MARK: dispatch

    @Test func levelsClampToDetected() {
        let detected = qk_detected_level()
        #expect((0...2).contains(detected))
        let before = qk_active_level()
        defer { qk_set_level(before) }
        #expect(qk_set_level(-5) == 0)
        #expect(qk_active_level() == 0)
        #expect(qk_set_level(99) == detected)
        #expect(qk_active_level() == detected)
        for level in supportedLevels {
            #expect(qk_set_level(level) == level)
            #expect(qk_active_level() == level)
        }
    }

    // MARK: Hamming

    /// Code sizes: every multiple of 8 up to 72, the common widths, and sizes past the
    /// register-resident AVX-512 path.
    static let codeBytes = Array(stride(from: 8, through: 72, by: 8)) + [120, 128, 136, 320, 328, 1024]

    @Test(arguments: supportedLevels)
    func hammingMatchesReference(level: Int32) {
        var rng = SplitMix64(seed: 0x4841_4D4D + UInt64(level))
        for codeBytes in Self.codeBytes {
            for n in Self.counts where n < 1000 || codeBytes <= 320 {
                let query = UnalignedBuffer(random: codeBytes, using: &rng)
                let codes = UnalignedBuffer(random: codeBytes * n, using: &rng)
                var out = [UInt16](repeating: 0xFFFF, count: n + 1)
                atLevel(level) {
                    qk_hamming_batch(query.bytes, codes.bytes, codeBytes, n, &out)
                }
                var mismatches = 0
                for i in 0..<n {
                    let expected = popcount(
                        query.bytes, codes.bytes + i * codeBytes, bytes: codeBytes, xor: true)
                    if Int(out[i]) != expected { mismatches += 1 }
                }
                #expect(mismatches == 0, "level \(level) code_bytes \(codeBytes) n \(n)")
                #expect(out[n] == 0xFFFF, "wrote past n at level \(level)")
            }
        }
    }

    /// Scans over 1 MiB take the AVX-512 path that prefetches ahead.
    @Test(arguments: supportedLevels)
    func hammingLargeScan(level: Int32) {
        var rng = SplitMix64(seed: 0x4C41_5247 + UInt64(level))
        for (codeBytes, n) in [(128, 8_300), (64, 16_400), (96, 11_001)] {
            let query = UnalignedBuffer(random: codeBytes, using: &rng)
            let codes = UnalignedBuffer(random: codeBytes * n, using: &rng)
            var out = [UInt16](repeating: 0xFFFF, count: n)
            atLevel(level) { qk_hamming_batch(query.bytes, codes.bytes, codeBytes, n, &out) }
            var mismatches = 0
            for i in 0..<n
            where Int(out[i]) != popcount(query.bytes, codes.bytes + i * codeBytes, bytes: codeBytes, xor: true) {
                mismatches += 1
            }
            #expect(mismatches == 0, "level \(level) code_bytes \(codeBytes) n \(n)")
        }
    }

    @Test(arguments: supportedLevels)
    func hammingExtremes(level: Int32) {
        for codeBytes in [8, 64, 128, 320, 1024] {
            let zeros = UnalignedBuffer([UInt8](repeating: 0, count: codeBytes))
            let ones = UnalignedBuffer([UInt8](repeating: 0xFF, count: codeBytes * 5))
            var out = [UInt16](repeating: 0, count: 5)
            atLevel(level) { qk_hamming_batch(zeros.bytes, ones.bytes, codeBytes, 5, &out) }
            #expect(out == [UInt16](repeating: UInt16(codeBytes * 8), count: 5))
            atLevel(level) { qk_hamming_batch(ones.bytes, ones.bytes, codeBytes, 5, &out) }
            #expect(out == [UInt16](repeating: 0, count: 5))
        }
    }

    // MARK: asymmetric

    @Test(arguments: supportedLevels)
    func asymmetricMatchesReference(level: Int32) {
        var rng = SplitMix64(seed: 0x4153_594D + UInt64(level))
        for codeBytes in [8, 16, 24, 40, 64, 72, 128, 136, 320] {
            for nplanes in 1...8 {
                for n in [0, 1, 3, 17, 200] {
                    let offset = Int32.random(in: -40...40, using: &rng)
                    let planes = UnalignedBuffer(random: codeBytes * nplanes, using: &rng)
                    let codes = UnalignedBuffer(random: codeBytes * n, using: &rng)
                    var out = [Int32](repeating: .min, count: n + 1)
                    atLevel(level) {
                        qk_asymmetric_batch(
                            planes.bytes, Int32(nplanes), offset, codes.bytes, codeBytes, n, &out)
                    }
                    var mismatches = 0
                    for i in 0..<n {
                        let code = codes.bytes + i * codeBytes
                        var score = 0
                        for p in 0..<nplanes {
                            score += popcount(planes.bytes + p * codeBytes, code, bytes: codeBytes, xor: false) << p
                        }
                        let ones = popcount(code, code, bytes: codeBytes, xor: false)
                        if out[i] != Int32(score - Int(offset) * ones) { mismatches += 1 }
                    }
                    #expect(mismatches == 0, "level \(level) bytes \(codeBytes) planes \(nplanes) n \(n)")
                    #expect(out[n] == .min, "wrote past n at level \(level)")
                }
            }
        }
    }

    /// The distance form chunks its calls to the batch kernel: lengths around the chunk size,
    /// and each distance equal to the maximum minus the batch kernel's score.
    @Test(arguments: supportedLevels)
    func asymmetricDistancesMatchScores(level: Int32) {
        var rng = SplitMix64(seed: 0x4449_5354 + UInt64(level))
        let codeBytes = 128
        let nplanes = 6
        let planes = UnalignedBuffer(random: codeBytes * nplanes, using: &rng)
        let maximum: Int32 = 20_000
        for n in [0, 1, 255, 256, 257, 600] {
            let codes = UnalignedBuffer(random: codeBytes * max(n, 1), using: &rng)
            var scores = [Int32](repeating: 0, count: max(n, 1))
            var distances = [UInt16](repeating: 0xBEEF, count: n + 1)
            atLevel(level) {
                qk_asymmetric_batch(planes.bytes, Int32(nplanes), 32, codes.bytes, codeBytes, n, &scores)
                qk_asymmetric_distances_u16(
                    planes.bytes, Int32(nplanes), 32, maximum, codes.bytes, codeBytes, n, &distances)
            }
            let expected = scores.prefix(n).map { UInt16(truncatingIfNeeded: maximum - $0) }
            #expect(Array(distances.prefix(n)) == expected, "level \(level) n \(n)")
            #expect(distances[n] == 0xBEEF, "wrote past n at level \(level)")
        }
    }

    /// Codes given by pointer, in an order of their own and with repeats, score as the batch
    /// kernel scores them in place, for every plane count (the specialised cases and the
    /// portable fallback) and code widths with and without a tail.
    @Test(arguments: supportedLevels)
    func asymmetricGatherMatchesBatch(level: Int32) {
        var rng = SplitMix64(seed: 0x4741_5448 + UInt64(level))
        for codeBytes in [8, 40, 128, 136] {
            for nplanes in [1, 4, 6, 8, 9] {
                let stored = 300
                let planes = UnalignedBuffer(random: codeBytes * nplanes, using: &rng)
                let codes = UnalignedBuffer(random: codeBytes * stored, using: &rng)
                let maximum: Int32 = 30_000
                var inPlace = [UInt16](repeating: 0, count: stored)
                for n in [0, 1, 17, 257, 600] {
                    let order = (0..<n).map { _ in Int.random(in: 0..<stored, using: &rng) }
                    let pointers: [UnsafePointer<UInt8>?] = order.map { UnsafePointer(codes.bytes + $0 * codeBytes) }
                    var gathered = [UInt16](repeating: 0xBEEF, count: n + 1)
                    atLevel(level) {
                        qk_asymmetric_distances_u16(
                            planes.bytes, Int32(nplanes), 7, maximum, codes.bytes, codeBytes, stored, &inPlace)
                        qk_asymmetric_gather_distances_u16(
                            planes.bytes, Int32(nplanes), 7, maximum, pointers, codeBytes, n, &gathered)
                    }
                    #expect(
                        Array(gathered.prefix(n)) == order.map { inPlace[$0] },
                        "level \(level) bytes \(codeBytes) planes \(nplanes) n \(n)")
                    #expect(gathered[n] == 0xBEEF, "wrote past n at level \(level)")
                }
            }
        }
    }

    @Test(arguments: supportedLevels)
    func asymmetricAllOnes(level: Int32) {
        for codeBytes in [8, 128, 320] {
            for nplanes in 1...8 {
                let planes = UnalignedBuffer([UInt8](repeating: 0xFF, count: codeBytes * nplanes))
                let codes = UnalignedBuffer([UInt8](repeating: 0xFF, count: codeBytes * 3))
                var out = [Int32](repeating: 0, count: 3)
                atLevel(level) {
                    qk_asymmetric_batch(planes.bytes, Int32(nplanes), 3, codes.bytes, codeBytes, 3, &out)
                }
                let bits = codeBytes * 8
                let expected = Int32(bits * ((1 << nplanes) - 1) - 3 * bits)
                #expect(out == [expected, expected, expected])
            }
        }
    }

    // MARK: INT8 dot products

    @Test(arguments: supportedLevels)
    func dotMatchesReference(level: Int32) {
        var rng = SplitMix64(seed: 0x444F_54 + UInt64(level))
        for dims in Self.dims + [0, 4095] {
            let a = UnalignedBuffer(random: dims, using: &rng)
            let b = UnalignedBuffer(random: dims, using: &rng)
            let got = atLevel(level) { qk_dot_i8(a.signed, b.signed, dims) }
            #expect(got == referenceDot(a.signed, b.signed, dims: dims), "level \(level) dims \(dims)")
        }
    }

    @Test(arguments: supportedLevels)
    func dotExtremesAreExact(level: Int32) {
        for dims in Self.dims {
            for (x, y): (Int8, Int8) in [(-128, -128), (127, 127), (-128, 127), (127, -128), (-128, 0)] {
                let a = UnalignedBuffer([Int8](repeating: x, count: dims))
                let b = UnalignedBuffer([Int8](repeating: y, count: dims))
                let expected = Int32(dims) * Int32(x) * Int32(y)
                let got = atLevel(level) { qk_dot_i8(a.signed, b.signed, dims) }
                #expect(got == expected, "level \(level) dims \(dims) \(x)·\(y)")
                var batch = [Int32](repeating: 0, count: 1)
                atLevel(level) { qk_dot_i8_batch(a.signed, b.signed, dims, dims, 1, &batch) }
                #expect(batch[0] == expected, "batch level \(level) dims \(dims) \(x)·\(y)")
            }
        }
    }

    @Test(arguments: supportedLevels)
    func dotBatchMatchesReference(level: Int32) {
        var rng = SplitMix64(seed: 0x4241_5443 + UInt64(level))
        for dims in Self.dims {
            for n in Self.counts where n < 1000 || dims <= 128 {
                let stride = dims + 3  // rows at varying alignments
                let query = UnalignedBuffer(random: dims, using: &rng)
                let vectors = UnalignedBuffer(random: stride * n, using: &rng)
                var out = [Int32](repeating: .min, count: n + 1)
                atLevel(level) {
                    qk_dot_i8_batch(query.signed, vectors.signed, stride, dims, n, &out)
                }
                var mismatches = 0
                for i in 0..<n
                where out[i] != referenceDot(query.signed, vectors.signed + i * stride, dims: dims) {
                    mismatches += 1
                }
                #expect(mismatches == 0, "level \(level) dims \(dims) n \(n)")
                #expect(out[n] == .min, "wrote past n at level \(level)")
            }
        }
    }

    @Test(arguments: supportedLevels)
    func dotGatherMatchesReference(level: Int32) {
        var rng = SplitMix64(seed: 0x4741_5448 + UInt64(level))
        for dims in Self.dims {
            for n in Self.counts where n < 1000 || dims <= 128 {
                let pool = max(n / 2, 1)  // fewer stored vectors than candidates: repeats
                let query = UnalignedBuffer(random: dims, using: &rng)
                let stored = UnalignedBuffer(random: dims * pool, using: &rng)
                let picks = (0..<n).map { _ in Int.random(in: 0..<pool, using: &rng) }
                let pointers: [UnsafePointer<Int8>?] = picks.map {
                    UnsafePointer(stored.signed + $0 * dims)
                }
                var out = [Int32](repeating: .min, count: n + 1)
                atLevel(level) { qk_dot_i8_gather(query.signed, pointers, n, dims, &out) }
                var mismatches = 0
                for (i, pick) in picks.enumerated()
                where out[i] != referenceDot(query.signed, stored.signed + pick * dims, dims: dims) {
                    mismatches += 1
                }
                #expect(mismatches == 0, "level \(level) dims \(dims) n \(n)")
                #expect(out[n] == .min, "wrote past n at level \(level)")
            }
        }
    }

    @Test func norm2MatchesReference() {
        var rng = SplitMix64(seed: 0x4E4F_524D)
        for dims in Self.dims {
            let a = UnalignedBuffer(random: dims, using: &rng)
            let expected = (0..<dims).reduce(Int64(0)) { $0 + Int64(a.signed[$1]) * Int64(a.signed[$1]) }
            #expect(qk_norm2_i8(a.signed, dims) == expected)
        }
        let extreme = [Int8](repeating: -128, count: 2560)
        #expect(qk_norm2_i8(extreme, 2560) == 2560 * 16384)
    }
}
