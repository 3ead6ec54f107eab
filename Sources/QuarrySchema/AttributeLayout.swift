// Part of the stored format: see the warning in Schema.swift.

/// The key of a posting chunk in `postings`: the field number (u16 BE), the value's byte
/// count (u16 BE), the value's UTF-8 bytes, then the chunk number (u32 BE, internal id /
/// 65,536). A value's chunks are adjacent and in id order, found by a prefix scan.
public enum PostingKey {
    /// The longest keyword value indexed; a longer one is not indexed (and matches no filter).
    public static let maxValueBytes = 256
    /// The field number of the set of every live vector (value: empty), which a NOT is taken
    /// against.
    public static let liveField: UInt16 = 0xFFFF

    /// The prefix shared by every chunk of `value` of field `field`.
    public static func prefix(field: UInt16, value: [UInt8]) -> [UInt8] {
        precondition(value.count <= maxValueBytes)
        return withUnsafeBytes(of: (field.bigEndian, UInt16(value.count).bigEndian)) { Array($0) } + value
    }

    /// The stored key of chunk `chunk` of `value` of field `field`.
    public static func encode(field: UInt16, value: [UInt8], chunk: UInt32) -> [UInt8] {
        prefix(field: field, value: value) + BigEndian.u32(chunk)
    }

    /// The chunk number of a stored key that starts with a prefix of `prefixCount` bytes.
    public static func chunk(ofKey key: UnsafeRawBufferPointer, prefixCount: Int) throws -> UInt32 {
        guard key.count == prefixCount + 4 else {
            throw SchemaError("a \(key.count)-byte posting key where \(prefixCount + 4) bytes belong")
        }
        return try BigEndian.readU32(from: key, at: prefixCount)
    }
}

/// A posting chunk (a `postings` value): which of the 65,536 ids of one chunk hold a value.
/// Sparse, up to 4,095 ids: their offsets in the chunk (id % 65,536) as ascending u16 LE,
/// 2 bytes each; dense: exactly 8,192 bytes, the bit of offset `o` being bit `o % 64` of the
/// little-endian u64 word `o / 64`. An empty chunk is not stored.
public enum PostingChunk {
    /// Ids a chunk covers.
    public static let idsPerChunk = 65_536
    /// u64 words of a dense chunk.
    public static let wordCount = idsPerChunk / 64
    /// Bytes of a dense chunk.
    public static let denseBytes = idsPerChunk / 8
    /// The most ids a sparse chunk holds (one more would be as large as a dense one).
    public static let maxSparseCount = denseBytes / 2 - 1

    /// The chunk of the ids whose bits are set in `words` (`wordCount` words), `count` of them.
    public static func encode(words: UnsafeBufferPointer<UInt64>, count: Int) -> [UInt8] {
        precondition(words.count == wordCount)
        if count > maxSparseCount {
            var bytes = [UInt8](repeating: 0, count: denseBytes)
            bytes.withUnsafeMutableBytes { raw in
                for (index, word) in words.enumerated() {
                    raw.storeBytes(of: word.littleEndian, toByteOffset: 8 * index, as: UInt64.self)
                }
            }
            return bytes
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 * count)
        for (index, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                let offset = UInt16(index * 64 + bits.trailingZeroBitCount)
                bytes.append(UInt8(truncatingIfNeeded: offset))
                bytes.append(UInt8(truncatingIfNeeded: offset >> 8))
                bits &= bits - 1
            }
        }
        return bytes
    }

    /// Sets in `words` (`wordCount` words) the bits of the ids `stored` holds; `SchemaError`
    /// when it has neither form (an odd size, offsets out of order).
    public static func addBits(of stored: UnsafeRawBufferPointer, to words: UnsafeMutableBufferPointer<UInt64>)
        throws
    {
        precondition(words.count == wordCount)
        if stored.count == denseBytes {
            for index in 0..<wordCount {
                words[index] |= UInt64(littleEndian: stored.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
            }
            return
        }
        try forEachSparseOffset(stored) { words[$0 >> 6] |= 1 << UInt64($0 & 63) }
    }

    /// Calls `body` with each offset of a sparse chunk, ascending; `SchemaError` when `stored`
    /// is not one.
    public static func forEachSparseOffset(_ stored: UnsafeRawBufferPointer, _ body: (Int) -> Void) throws {
        guard stored.count % 2 == 0, stored.count / 2 <= maxSparseCount, !stored.isEmpty else {
            throw SchemaError("a \(stored.count)-byte posting chunk, which is neither sparse nor dense")
        }
        var previous = -1
        for index in 0..<stored.count / 2 {
            let offset = Int(UInt16(littleEndian: stored.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
            guard offset > previous else { throw SchemaError("a sparse posting chunk whose offsets do not ascend") }
            body(offset)
            previous = offset
        }
    }

    /// Whether `stored` is the dense form.
    public static func isDense(_ stored: UnsafeRawBufferPointer) -> Bool { stored.count == denseBytes }
}

/// The key of a numeric column segment in `columns`: the field number (u16 BE) then the
/// segment number (u64 BE, internal id / 4,096), so a field's segments are adjacent and in order.
public enum ColumnKey {
    /// The stored key of segment `segment` of field `field`.
    public static func encode(field: UInt16, segment: UInt64) -> [UInt8] {
        withUnsafeBytes(of: field.bigEndian) { Array($0) } + BigEndian.u64(segment)
    }

    /// The key prefix shared by every segment of field `field`.
    public static func prefix(field: UInt16) -> [UInt8] { withUnsafeBytes(of: field.bigEndian) { Array($0) } }

    /// The segment number of a stored column key.
    public static func segment(ofKey key: UnsafeRawBufferPointer) throws -> UInt64 {
        guard key.count == 10 else { throw SchemaError("a \(key.count)-byte column key where 10 bytes belong") }
        return try BigEndian.readU64(from: key, at: 2)
    }
}

/// A numeric column segment (a `columns` value): the field's value for each of 4,096
/// consecutive ids, Float64 LE; NaN for an id without one (a missing field or a dead id).
public enum ColumnSegment {
    /// Ids a segment covers.
    public static let capacity = 4_096
    /// Bytes of a segment.
    public static let byteCount = capacity * 8

    /// The segment of an id.
    public static func segment(of id: UInt64) -> UInt64 { id / UInt64(capacity) }

    /// A segment of no values.
    public static func empty() -> [UInt8] { encode([Double](repeating: .nan, count: capacity)) }

    /// The stored form of `values` (`capacity` of them).
    public static func encode(_ values: [Double]) -> [UInt8] {
        precondition(values.count == capacity)
        var bytes = [UInt8](repeating: 0, count: byteCount)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 8 * index, as: UInt64.self)
            }
        }
        return bytes
    }

    /// The values of a stored segment; `SchemaError` when it has another length.
    public static func decode(_ stored: UnsafeRawBufferPointer) throws -> [Double] {
        try validate(stored)
        return (0..<capacity).map { value(in: stored, at: $0) }
    }

    /// `SchemaError` unless `stored` is a segment's size.
    public static func validate(_ stored: UnsafeRawBufferPointer) throws {
        guard stored.count == byteCount else {
            throw SchemaError("a \(stored.count)-byte column segment where \(byteCount) bytes belong")
        }
    }

    /// The value at `index` of a validated segment.
    @inlinable
    public static func value(in stored: UnsafeRawBufferPointer, at index: Int) -> Double {
        Double(bitPattern: UInt64(littleEndian: stored.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self)))
    }
}

/// What one vector's attributes are (an `attrs` value), so that a change or a removal takes
/// exactly its entries out of `postings` and `columns`: a u16 LE entry count, then per entry
/// the field number (u16 LE), a tag byte (0: keyword, 1: number) and the value: a keyword as a
/// u16 LE byte count and its UTF-8 bytes, a number as a Float64 LE.
public enum AttributeRecord {
    /// One indexed value of a vector.
    public enum Value: Sendable, Hashable {
        case keyword([UInt8])
        case number(Double)
    }

    /// A field number and one of its values.
    public struct Entry: Sendable, Hashable {
        public var field: UInt16
        public var value: Value
        public init(field: UInt16, value: Value) {
            self.field = field
            self.value = value
        }
    }

    /// The stored form of `entries`.
    public static func encode(_ entries: [Entry]) -> [UInt8] {
        precondition(entries.count <= Int(UInt16.max))
        var bytes = littleEndian(UInt16(entries.count))
        for entry in entries {
            bytes += littleEndian(entry.field)
            switch entry.value {
            case .keyword(let text):
                precondition(text.count <= PostingKey.maxValueBytes)
                bytes.append(0)
                bytes += littleEndian(UInt16(text.count)) + text
            case .number(let number):
                bytes.append(1)
                bytes += withUnsafeBytes(of: number.bitPattern.littleEndian) { Array($0) }
            }
        }
        return bytes
    }

    /// The entries of a stored record; `SchemaError` when it is malformed.
    public static func decode(_ stored: UnsafeRawBufferPointer) throws -> [Entry] {
        var offset = 0
        func take(_ count: Int) throws -> Int {
            guard count <= stored.count - offset else {
                throw SchemaError("an attribute record that ends inside an entry (\(stored.count) bytes)")
            }
            defer { offset += count }
            return offset
        }
        func u16() throws -> UInt16 {
            UInt16(littleEndian: stored.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self))
        }
        let count = Int(try u16())
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let field = try u16()
            switch stored[try take(1)] {
            case 0:
                let length = Int(try u16())
                guard length <= PostingKey.maxValueBytes else {
                    throw SchemaError("an attribute record with a \(length)-byte keyword")
                }
                let start = try take(length)
                entries.append(Entry(field: field, value: .keyword(Array(stored[start..<start + length]))))
            case 1:
                let bits = UInt64(littleEndian: stored.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self))
                entries.append(Entry(field: field, value: .number(Double(bitPattern: bits))))
            case let tag:
                throw SchemaError("an attribute record with an entry tagged \(tag)")
            }
        }
        guard offset == stored.count else {
            throw SchemaError("an attribute record with \(stored.count - offset) bytes after its entries")
        }
        return entries
    }

    private static func littleEndian(_ value: UInt16) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
    }
}
