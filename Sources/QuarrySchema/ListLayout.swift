// Part of the stored format: see the warning in Schema.swift.

/// Byte layouts shared by every place that stores or scans an IVF index.
public enum IVFLayout {
    /// Bytes of a 1-bit code for `dimension` dimensions, padded to whole 64-bit words (the
    /// padding is zero). Value `d` of the INT8 vector is bit `0x80 >> (d % 8)` of byte `d / 8`
    /// (most significant first), set when the value is ≥ 0; `qk_pack_signs_i8` (CQuarryKernels)
    /// writes it.
    public static func codeBytes(dimension: Int) -> Int { (dimension + 63) / 64 * 8 }

    /// Bytes of a stored vector record: INT8 values, Float32 norm, UInt32 list id.
    public static func vectorRecordBytes(dimension: Int) -> Int { dimension + 8 }

    /// Bytes of the header of a posting-list block: UInt32 count, UInt32 reserved.
    public static let blockHeaderBytes = 8

    /// Bytes of a block holding `count` entries.
    public static func blockBytes(count: Int, codeBytes: Int) -> Int {
        blockHeaderBytes + count * (8 + codeBytes)
    }
}

/// A read-only view of one posting-list block (a `lists` value), read in place:
///
///     offset 0               UInt32 LE  count
///     offset 4               UInt32     reserved, written 0
///     offset 8               count × UInt64 LE internal ids
///     offset 8 + 8 × count   count × code bytes: the ids' 1-bit codes, in the same order
public struct IVFBlock {
    public let count: Int
    public let ids: UnsafeRawPointer
    public let codes: UnsafeRawPointer

    /// Interprets raw block bytes; nil when they are not a well-formed block.
    public init?(bytes: UnsafeRawBufferPointer, codeBytes: Int) {
        guard let count = Self.storedCount(bytes),
            bytes.count == IVFLayout.blockBytes(count: count, codeBytes: codeBytes),
            let base = bytes.baseAddress
        else { return nil }
        self.count = count
        ids = base + IVFLayout.blockHeaderBytes
        codes = ids + 8 * count
    }

    /// The entry count in a block's header, without checking the rest; nil when `bytes` is
    /// shorter than a header.
    public static func storedCount(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= IVFLayout.blockHeaderBytes else { return nil }
        return Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
    }

    /// Internal id of entry `index`.
    @inlinable public func id(at index: Int) -> UInt64 {
        UInt64(littleEndian: ids.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
    }

    /// Copies every entry's internal id, in order, to `target` (room for `count`): one memory
    /// copy on a little-endian host.
    @inlinable public func copyIDs(to target: UnsafeMutablePointer<UInt64>) {
        UnsafeMutableRawPointer(target).copyMemory(from: ids, byteCount: 8 * count)
        #if _endian(big)
            for i in 0..<count { target[i] = UInt64(littleEndian: target[i]) }
        #endif
    }

    /// Encodes a block from parallel arrays of ids and concatenated codes.
    public static func encode(ids: [UInt64], codes: [UInt8], codeBytes: Int) -> [UInt8] {
        precondition(codes.count == ids.count * codeBytes)
        var bytes = [UInt8](repeating: 0, count: IVFLayout.blockBytes(count: ids.count, codeBytes: codeBytes))
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(ids.count).littleEndian, as: UInt32.self)
            for (i, id) in ids.enumerated() {
                raw.storeBytes(of: id.littleEndian, toByteOffset: IVFLayout.blockHeaderBytes + 8 * i, as: UInt64.self)
            }
            let codeStart = IVFLayout.blockHeaderBytes + 8 * ids.count
            codes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: raw[codeStart...]).copyMemory(from: source)
            }
        }
        return bytes
    }
}
