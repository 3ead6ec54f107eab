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
