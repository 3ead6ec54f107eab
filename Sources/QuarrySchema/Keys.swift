// Part of the stored format: see the warning in Schema.swift.

/// An internal id (UInt64, assigned in ingest order from `next_id`), as stored: 8 bytes
/// big-endian. It keys `idkeys` and `spills`, and is the value under `keys` and `meta/next_id`.
public enum InternalID {
    /// The stored form of `id`.
    public static func encode(_ id: UInt64) -> [UInt8] { BigEndian.u64(id) }

    /// The id stored as `bytes`, which must be exactly 8 bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> UInt64 {
        guard bytes.count == 8 else {
            throw SchemaError("a \(bytes.count)-byte internal id where 8 bytes belong")
        }
        return try BigEndian.readU64(from: bytes)
    }
}

/// A posting-list id (UInt32, 0..<list count), as stored: 4 bytes big-endian. It keys
/// `centroids`, prefixes the keys of `lists`, and is the value under `spills`.
public enum ListID {
    /// The stored form of `list`.
    public static func encode(_ list: UInt32) -> [UInt8] { BigEndian.u32(list) }

    /// The list id stored as `bytes`, which must be exactly 4 bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> UInt32 {
        guard bytes.count == 4 else {
            throw SchemaError("a \(bytes.count)-byte list id where 4 bytes belong")
        }
        return try BigEndian.readU32(from: bytes)
    }
}

/// The key of a posting-list block in `lists`: list id (u32 BE) then block number (u32 BE),
/// so a list's blocks are adjacent and in order, and a prefix scan of the list id finds them.
/// Blocks are numbered from 0; only the last block of a list may hold fewer than the
/// manifest's block capacity.
public enum BlockKey {
    /// Bytes of a block key.
    public static let byteCount = 8

    /// The stored key of block `number` of `list`.
    public static func encode(list: UInt32, number: UInt32) -> [UInt8] { BigEndian.u32u32(list, number) }

    /// The key prefix shared by every block of `list`.
    public static func prefix(list: UInt32) -> [UInt8] { ListID.encode(list) }

    /// The list id and block number of a stored block key, which must be exactly 8 bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> (list: UInt32, number: UInt32) {
        guard bytes.count == byteCount else {
            throw SchemaError("a \(bytes.count)-byte block key where \(byteCount) bytes belong")
        }
        return (try BigEndian.readU32(from: bytes, at: 0), try BigEndian.readU32(from: bytes, at: 4))
    }
}

/// The key of a vector-record segment in `vectors`: the segment number (u64 BE), which is the
/// internal id divided by `VectorSegment.capacity`.
public enum SegmentKey {
    /// The stored key of segment `number`.
    public static func encode(segment number: UInt64) -> [UInt8] { BigEndian.u64(number) }

    /// The stored key of the segment that holds the record of internal id `id`.
    public static func encode(holding id: UInt64) -> [UInt8] { encode(segment: VectorSegment.segment(of: id)) }
}

/// External keys (the `keys` database's keys, the `idkeys` values) and document keys (the
/// `docs` keys): their UTF-8 bytes, without terminator. A document's chunk `i` is the vector
/// keyed by the document key, the byte 0x1F (U+001F), then `i` in decimal ASCII.
public enum TextKey {
    /// The longest external key LMDB stores (its default maximum key size).
    public static let maxBytes = 511
    /// The longest document key: room is left for the separator and a chunk number.
    public static let maxDocumentBytes = 480
    /// The byte between a document key and a chunk number in a chunk's vector key.
    public static let chunkSeparator: UInt8 = 0x1F

    /// The stored form of `key`.
    public static func encode(_ key: String) -> [UInt8] { Array(key.utf8) }

    /// The key stored as `bytes` (invalid UTF-8 is repaired with U+FFFD, never trapped on).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The vector key of chunk `chunk` of the document keyed `document`.
    public static func chunk(document: String, chunk: Int) -> [UInt8] {
        Array(document.utf8) + [chunkSeparator] + Array(String(chunk).utf8)
    }

    /// Splits a vector key into its document key and chunk number (nil for a bare vector's key:
    /// no separator, or no decimal number after the last one).
    public static func splitChunk(_ key: String) -> (document: String, chunk: Int?) {
        let separator = Character(Unicode.Scalar(chunkSeparator))
        guard let at = key.lastIndex(of: separator), let chunk = Int(key[key.index(after: at)...]) else {
            return (key, nil)
        }
        return (String(key[..<at]), chunk)
    }
}
