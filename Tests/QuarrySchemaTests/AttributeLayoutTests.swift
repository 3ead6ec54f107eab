import QuarrySchema
import Testing

/// The stored forms of the attribute indexes: posting chunks, column segments, attribute
/// records and their keys.
@Suite struct AttributeLayoutTests {
    /// The offsets a stored chunk holds, read back through `addBits`.
    private func offsets(of stored: [UInt8]) throws -> [Int] {
        var words = [UInt64](repeating: 0, count: PostingChunk.wordCount)
        try stored.withUnsafeBytes { raw in
            try words.withUnsafeMutableBufferPointer { try PostingChunk.addBits(of: raw, to: $0) }
        }
        return (0..<PostingChunk.idsPerChunk).filter { words[$0 >> 6] & (1 << UInt64($0 & 63)) != 0 }
    }

    private func chunk(_ offsets: [Int]) -> [UInt8] {
        var words = [UInt64](repeating: 0, count: PostingChunk.wordCount)
        for offset in offsets { words[offset >> 6] |= 1 << UInt64(offset & 63) }
        return words.withUnsafeBufferPointer { PostingChunk.encode(words: $0, count: Set(offsets).count) }
    }

    @Test func postingChunksAreSparseUpToTheirLimitThenDense() throws {
        var generator = SystemRandomNumberGenerator()
        for count in [1, 7, PostingChunk.maxSparseCount, PostingChunk.maxSparseCount + 1, 30_000] {
            var chosen = Set<Int>()
            while chosen.count < count {
                chosen.insert(Int.random(in: 0..<PostingChunk.idsPerChunk, using: &generator))
            }
            let stored = chunk(Array(chosen))
            #expect(stored.count == (count > PostingChunk.maxSparseCount ? PostingChunk.denseBytes : 2 * count))
            #expect(try offsets(of: stored) == chosen.sorted())
            let dense = stored.withUnsafeBytes { PostingChunk.isDense($0) }
            #expect(dense == (count > PostingChunk.maxSparseCount))
        }
        // The last offset of a chunk is stored and read back in both forms.
        #expect(try offsets(of: chunk([0, 65_535])) == [0, 65_535])
    }

    @Test func malformedPostingChunksAreSchemaErrors() {
        for bad: [UInt8] in [[1], [], [4, 0, 2, 0], [3, 0, 3, 0], [UInt8](repeating: 1, count: 8_194)] {
            #expect(throws: SchemaError.self) { try offsets(of: bad) }
        }
    }

    @Test func postingKeysGroupAValuesChunksInIDOrder() throws {
        let de = PostingKey.prefix(field: 0, value: Array("de".utf8))
        let keys = [
            PostingKey.encode(field: 0, value: Array("de".utf8), chunk: 2),
            PostingKey.encode(field: 0, value: Array("de".utf8), chunk: 0),
            PostingKey.encode(field: 0, value: Array("den".utf8), chunk: 0),
            PostingKey.encode(field: 1, value: Array("de".utf8), chunk: 0),
        ]
        let sorted = keys.sorted { $0.lexicographicallyPrecedes($1) }
        // A value's chunks are adjacent, and "de" and "den" do not share a prefix (the length leads).
        #expect(sorted.prefix(2).allSatisfy { $0.starts(with: de) })
        #expect(!keys[2].starts(with: de))
        let chunk = try keys[0].withUnsafeBytes { try PostingKey.chunk(ofKey: $0, prefixCount: de.count) }
        #expect(chunk == 2)
        #expect(throws: SchemaError.self) {
            try keys[0].withUnsafeBytes { try PostingKey.chunk(ofKey: $0, prefixCount: de.count + 1) }
        }
    }

    @Test func columnSegmentsRoundTripWithNaNForMissing() throws {
        var values = [Double](repeating: .nan, count: ColumnSegment.capacity)
        values[0] = -1.5
        values[4_095] = 1_714_521_600
        let stored = ColumnSegment.encode(values)
        #expect(stored.count == ColumnSegment.byteCount)
        let read = try stored.withUnsafeBytes { try ColumnSegment.decode($0) }
        #expect(read[0] == -1.5 && read[4_095] == 1_714_521_600 && read[1].isNaN)
        #expect(ColumnSegment.segment(of: 4_096) == 1 && ColumnSegment.segment(of: 4_095) == 0)
        let short = [UInt8](stored.dropLast())
        #expect(throws: SchemaError.self) { try short.withUnsafeBytes { try ColumnSegment.decode($0) } }
        let key = ColumnKey.encode(field: 3, segment: 7)
        #expect(key.starts(with: ColumnKey.prefix(field: 3)))
        #expect(try key.withUnsafeBytes { try ColumnKey.segment(ofKey: $0) } == 7)
    }

    @Test func attributeRecordsRoundTripAndRefuseDamage() throws {
        let entries: [AttributeRecord.Entry] = [
            .init(field: 0, value: .keyword(Array("de".utf8))), .init(field: 4, value: .number(2021)),
            .init(field: 4, value: .keyword([])), .init(field: 65_534, value: .number(-0.25)),
        ]
        let stored = AttributeRecord.encode(entries)
        #expect(try stored.withUnsafeBytes { try AttributeRecord.decode($0) } == entries)
        #expect(try AttributeRecord.encode([]).withUnsafeBytes { try AttributeRecord.decode($0) } == [])
        // Every truncation, an extra byte and a bad tag are errors, never traps.
        for length in 0..<stored.count {
            let cut = [UInt8](stored.prefix(length))
            #expect(throws: SchemaError.self) { try cut.withUnsafeBytes { try AttributeRecord.decode($0) } }
        }
        let longer = stored + [0]
        #expect(throws: SchemaError.self) { try longer.withUnsafeBytes { try AttributeRecord.decode($0) } }
        var tagged = stored
        tagged[4] = 9
        #expect(throws: SchemaError.self) { try tagged.withUnsafeBytes { try AttributeRecord.decode($0) } }
    }
}
