import QuarryStore
import Testing

@Suite struct ZstdTests {
    @Test func roundTripsEmptySmallAndLarge() throws {
        #expect(try Zstd.decompress(Zstd.compress([])) == [])
        let small = bytes("a short web page title")
        #expect(try Zstd.decompress(Zstd.compress(small)) == small)

        // 10 MB: incompressible 256 KiB chunks, repeated so that zstd finds matches.
        let chunk = pseudoRandomBytes(count: 256 << 10, seed: 3)
        var large: [UInt8] = []
        large.reserveCapacity(40 * chunk.count)
        for _ in 0..<40 { large.append(contentsOf: chunk) }
        let frame = try Zstd.compress(large)
        #expect(frame.count < large.count / 10)
        let restored = try Zstd.decompress(frame)
        #expect(restored.count == large.count)
        #expect(sameBytes(restored, large))
    }

    @Test func corruptFramesAreReported() throws {
        let text = bytes(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 200))
        var frame = try Zstd.compress(text)
        frame[frame.count / 2] ^= 0xFF
        #expect(throws: StoreError.self) { try Zstd.decompress(frame) }

        let intact = try Zstd.compress(text)
        let truncated = Array(intact.prefix(intact.count - 5))
        #expect(throws: StoreError.self) { try Zstd.decompress(truncated) }
        #expect(throws: StoreError.corruptData("not a zstd frame (4 bytes)")) { try Zstd.decompress([1, 2, 3, 4]) }
        #expect(throws: StoreError.corruptData("not a zstd frame (0 bytes)")) { try Zstd.decompress([]) }
    }

    @Test func oversizedFramesAreRefused() throws {
        let frame = try Zstd.compress([UInt8](repeating: 0, count: 100_000))
        #expect(frame.count < 1000)
        #expect(throws: StoreError.decompressedSizeTooLarge(size: 100_000, max: 50_000)) {
            try Zstd.decompress(frame, maxSize: 50_000)
        }
        #expect(try Zstd.decompress(frame, maxSize: 100_000).count == 100_000)
    }

    @Test func framesWithoutContentSizeDecode() throws {
        // `echo hello | zstd -c`: a streamed frame that does not record its size.
        let streamed: [UInt8] = [
            0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x31, 0x00, 0x00, 0x68, 0x65, 0x6c,
            0x6c, 0x6f, 0x0a, 0x53, 0x88, 0xbd, 0x91,
        ]
        #expect(try Zstd.decompress(streamed) == bytes("hello\n"))
        #expect(throws: StoreError.decompressedSizeTooLarge(size: 6, max: 3)) {
            try Zstd.decompress(streamed, maxSize: 3)
        }
        #expect(throws: StoreError.self) { try Zstd.decompress(Array(streamed.prefix(12))) }
    }
}

@Suite struct BigEndianTests {
    @Test func encodingsSortNumerically() {
        let numbers: [UInt64] = [0, 1, 255, 256, 65_535, 1 << 32, UInt64.max]
        let encoded = numbers.map(BigEndian.u64)
        #expect(encoded == encoded.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(BigEndian.u32(0x0102_0304) == [1, 2, 3, 4])
        #expect(BigEndian.u32u32(1, 2) == [0, 0, 0, 1, 0, 0, 0, 2])
        #expect(BigEndian.u32u32(1, 0xFFFF_FFFF).lexicographicallyPrecedes(BigEndian.u32u32(2, 0)))
    }

    @Test func readsBackAtOffsets() throws {
        let key = [0xAA] + BigEndian.u64(0x0102_0304_0506_0708) + BigEndian.u32(42)
        try key.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) throws in
            #expect(try BigEndian.readU64(from: buffer, at: 1) == 0x0102_0304_0506_0708)
            #expect(try BigEndian.readU32(from: buffer, at: 9) == 42)
            // A value too short for the integer is damaged data, not a trap.
            #expect(throws: StoreError.self) { try BigEndian.readU64(from: buffer, at: 6) }
            #expect(throws: StoreError.self) {
                try BigEndian.readU32(from: UnsafeRawBufferPointer(rebasing: buffer[0..<3]))
            }
            #expect(throws: StoreError.self) { try BigEndian.readU32(from: buffer, at: -1) }
        }
    }
}
