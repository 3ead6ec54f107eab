/// Fixed-width big-endian key encodings: byte order equals numeric order, so LMDB's byte-wise
/// key comparison sorts them numerically.
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

    /// The big-endian `UInt32` at byte `offset` of `bytes` (which must hold 4 bytes there).
    public static func readU32(from bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= bytes.count, "readU32 at \(offset) of a \(bytes.count)-byte buffer")
        return UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The big-endian `UInt64` at byte `offset` of `bytes` (which must hold 8 bytes there).
    public static func readU64(from bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        precondition(offset >= 0 && offset + 8 <= bytes.count, "readU64 at \(offset) of a \(bytes.count)-byte buffer")
        return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
