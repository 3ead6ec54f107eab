// Part of the stored format: see the warning in Schema.swift.

/// Fixed-width big-endian integers, the encoding of every integer key (and of values that are
/// another database's key): byte order equals numeric order, so LMDB's byte-wise key
/// comparison sorts them numerically.
public enum BigEndian {
    /// `value` as 4 big-endian bytes.
    public static func u32(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// `value` as 8 big-endian bytes.
    public static func u64(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// `first` then `second`, 4 big-endian bytes each: sorts by `first`, then by `second`.
    public static func u32u32(_ first: UInt32, _ second: UInt32) -> [UInt8] {
        withUnsafeBytes(of: (first.bigEndian, second.bigEndian)) { Array($0) }
    }

    /// The big-endian `UInt32` at byte `offset` of `bytes`; `SchemaError` when `bytes` holds no
    /// 4 bytes there (a damaged key or value).
    public static func readU32(from bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws -> UInt32 {
        guard offset >= 0, offset <= bytes.count - 4 else {
            throw SchemaError("a \(bytes.count)-byte key or value where a 4-byte integer at \(offset) belongs")
        }
        return UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The big-endian `UInt64` at byte `offset` of `bytes`; `SchemaError` when `bytes` holds no
    /// 8 bytes there (a damaged key or value).
    public static func readU64(from bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws -> UInt64 {
        guard offset >= 0, offset <= bytes.count - 8 else {
            throw SchemaError("a \(bytes.count)-byte key or value where an 8-byte integer at \(offset) belongs")
        }
        return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
