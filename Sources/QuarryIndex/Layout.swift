import Foundation

/// Byte layouts shared by every place that stores or scans an IVF index.
public enum IVFLayout {
    /// Bytes of a 1-bit code for `dimension` dimensions, padded to whole 64-bit words.
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

/// A read-only view of one posting-list block: `count` internal ids (UInt64, little-endian)
/// followed by their 1-bit codes, contiguous.
public struct IVFBlock {
    public let count: Int
    public let ids: UnsafeRawPointer
    public let codes: UnsafeRawPointer

    /// Interprets raw block bytes; nil when they are not a well-formed block.
    public init?(bytes: UnsafeRawBufferPointer, codeBytes: Int) {
        guard bytes.count >= IVFLayout.blockHeaderBytes else { return nil }
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
        guard bytes.count == IVFLayout.blockBytes(count: count, codeBytes: codeBytes) else { return nil }
        self.count = count
        ids = bytes.baseAddress! + IVFLayout.blockHeaderBytes
        codes = ids + 8 * count
    }

    /// Internal id of entry `index`.
    @inline(__always) public func id(at index: Int) -> UInt64 {
        UInt64(littleEndian: ids.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
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

/// A stored vector: its INT8 values, norm and posting list.
public struct StoredVector {
    public let values: UnsafePointer<Int8>
    public let norm: Float
    public let list: UInt32

    /// Interprets a vector record; nil when its size does not match `dimension`.
    public init?(bytes: UnsafeRawBufferPointer, dimension: Int) {
        guard bytes.count == IVFLayout.vectorRecordBytes(dimension: dimension) else { return nil }
        values = bytes.baseAddress!.assumingMemoryBound(to: Int8.self)
        norm = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: dimension, as: UInt32.self)))
        list = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: dimension + 4, as: UInt32.self))
    }

    /// Encodes a vector record.
    public static func encode(values: UnsafeBufferPointer<Int8>, list: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count + 8)
        var sumOfSquares: Int64 = 0
        for v in values { sumOfSquares += Int64(v) * Int64(v) }
        let norm = Float(Double(sumOfSquares).squareRoot())
        bytes.withUnsafeMutableBytes { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(values))
            raw.storeBytes(of: norm.bitPattern.littleEndian, toByteOffset: values.count, as: UInt32.self)
            raw.storeBytes(of: list.littleEndian, toByteOffset: values.count + 4, as: UInt32.self)
        }
        return bytes
    }
}
