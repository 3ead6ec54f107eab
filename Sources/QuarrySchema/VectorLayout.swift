// Part of the stored format: see the warning in Schema.swift.

/// A stored vector record, read in place from its segment:
///
///     offset 0              dimension × Int8  the quantized values
///     offset dimension      Float32 LE        the norm of the INT8 values (√Σv²)
///     offset dimension + 4  UInt32 LE         the vector's (first) posting list
public struct StoredVector {
    public let values: UnsafePointer<Int8>
    public let norm: Float
    public let list: UInt32

    /// Interprets a vector record; nil when its size does not match `dimension`.
    public init?(bytes: UnsafeRawBufferPointer, dimension: Int) {
        guard bytes.count == IVFLayout.vectorRecordBytes(dimension: dimension), let base = bytes.baseAddress else {
            return nil
        }
        values = base.assumingMemoryBound(to: Int8.self)
        norm = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: dimension, as: UInt32.self)))
        list = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: dimension + 4, as: UInt32.self))
    }

    /// The norm of the record that starts at `record`, read in place without checking its
    /// size (for a rescoring loop over records already found).
    @inlinable public static func norm(ofRecordAt record: UnsafeRawPointer, dimension: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: record.loadUnaligned(fromByteOffset: dimension, as: UInt32.self)))
    }

    /// Encodes a vector record.
    public static func encode(values: UnsafeBufferPointer<Int8>, list: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: IVFLayout.vectorRecordBytes(dimension: values.count))
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

/// How vector records are grouped into `vectors` values: the records of internal ids
/// `n × capacity ..< (n + 1) × capacity` live back to back in segment `n`, the record of id `i`
/// at byte `(i % capacity) × record bytes`. A segment holds the records written so far (its
/// length is a whole number of records); a removed vector's record stays in place, unreachable.
public enum VectorSegment {
    /// Records per segment (4 MB at 1,024 dimensions).
    public static let capacity: UInt64 = 4096

    /// The segment that holds the record of `id`.
    public static func segment(of id: UInt64) -> UInt64 { id / capacity }

    /// The record's position inside its segment, in records.
    public static func slot(of id: UInt64) -> Int { Int(id % capacity) }
}
