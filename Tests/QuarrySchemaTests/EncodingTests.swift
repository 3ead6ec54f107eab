import QuarrySchema
import Testing

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
            #expect(throws: SchemaError.self) { try BigEndian.readU64(from: buffer, at: 6) }
            #expect(throws: SchemaError.self) {
                try BigEndian.readU32(from: UnsafeRawBufferPointer(rebasing: buffer[0..<3]))
            }
            #expect(throws: SchemaError.self) { try BigEndian.readU32(from: buffer, at: -1) }
        }
    }
}

@Suite struct KeyEncodingTests {
    @Test func integerKeysAreBigEndianOfExactWidth() throws {
        #expect(InternalID.encode(0x0102_0304_0506_0708) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(ListID.encode(0x0A0B_0C0D) == [0x0A, 0x0B, 0x0C, 0x0D])
        #expect(BlockKey.encode(list: 3, number: 258) == [0, 0, 0, 3, 0, 0, 1, 2])
        #expect(BlockKey.prefix(list: 3) == [0, 0, 0, 3])
        #expect(SegmentKey.encode(holding: 4096 * 5 + 17) == [0, 0, 0, 0, 0, 0, 0, 5])
        try [UInt8]([0, 0, 0, 3, 0, 0, 1, 2]).withUnsafeBytes { raw in
            let (list, number) = try BlockKey.decode(raw)
            #expect(list == 3 && number == 258)
            // A key of the wrong width is damaged, whatever prefix it has.
            #expect(throws: SchemaError.self) { try InternalID.decode(UnsafeRawBufferPointer(rebasing: raw[0..<7])) }
            #expect(throws: SchemaError.self) { try ListID.decode(raw) }
            #expect(throws: SchemaError.self) { try BlockKey.decode(UnsafeRawBufferPointer(rebasing: raw[0..<4])) }
        }
    }

    @Test func chunkKeysJoinWithUnitSeparator() {
        #expect(TextKey.chunk(document: "a/b", chunk: 12) == [0x61, 0x2F, 0x62, 0x1F, 0x31, 0x32])
        #expect(TextKey.splitChunk("a/b\u{1F}12") == ("a/b", 12))
        #expect(TextKey.splitChunk("plain") == ("plain", nil))
        #expect(TextKey.splitChunk("x\u{1F}y") == ("x\u{1F}y", nil))
    }
}

@Suite struct ValueLayoutTests {
    @Test func blockRoundTripsAndRejectsWrongSizes() {
        let codeBytes = IVFLayout.codeBytes(dimension: 100)
        #expect(codeBytes == 16)
        let ids: [UInt64] = [7, 0x0102_0304_0506_0708]
        let codes = (0..<2 * codeBytes).map { UInt8($0) }
        let bytes = IVFBlock.encode(ids: ids, codes: codes, codeBytes: codeBytes)
        #expect(Array(bytes[0..<16]) == [2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[16..<24]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(bytes[24...]) == codes)
        bytes.withUnsafeBytes { raw in
            #expect(IVFBlock(bytes: raw, codeBytes: codeBytes)?.id(at: 1) == ids[1])
            #expect(IVFBlock.storedCount(raw) == 2)
            #expect(IVFBlock(bytes: UnsafeRawBufferPointer(rebasing: raw.dropLast()), codeBytes: codeBytes) == nil)
            #expect(IVFBlock(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<7]), codeBytes: codeBytes) == nil)
        }
    }

    @Test func vectorRecordCarriesNormAndList() {
        let values: [Int8] = [3, -4, 0]
        let record = values.withUnsafeBufferPointer { StoredVector.encode(values: $0, list: 0x0102) }
        // 5.0 is 0x40A00000.
        #expect(record == [3, 0xFC, 0, 0x00, 0x00, 0xA0, 0x40, 0x02, 0x01, 0, 0])
        record.withUnsafeBytes { raw in
            #expect(StoredVector(bytes: raw, dimension: 3)?.norm == 5)
            #expect(StoredVector(bytes: raw, dimension: 4) == nil)
        }
    }

    @Test func centroidRowsAreLittleEndianFloats() throws {
        let row = CentroidRow.encode([1, -2][...])
        #expect(row == [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0])
        try row.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            #expect(try CentroidRow.decode(raw, dimension: 2) == [1, -2])
            #expect(throws: SchemaError.self) { try CentroidRow.decode(raw, dimension: 3) }
        }
    }
}
