// Part of the stored format: see the warning in Schema.swift.

import Foundation

/// A centroid row (a `centroids` value): `dimension` Float32 values, little-endian, unit length.
public enum CentroidRow {
    /// The stored form of one centroid.
    public static func encode(_ values: ArraySlice<Float>) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (offset, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * offset, as: UInt32.self)
            }
        }
        return bytes
    }

    /// The stored centroid of `dimension` values; `SchemaError` when the value has another length.
    public static func decode(_ bytes: UnsafeRawBufferPointer, dimension: Int) throws -> [Float] {
        guard bytes.count == dimension * 4 else {
            throw SchemaError("a \(bytes.count)-byte centroid where \(dimension * 4) bytes belong")
        }
        return (0..<dimension).map { offset in
            Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * offset, as: UInt32.self)))
        }
    }
}

/// The JSON values a collection stores: the manifest (under `meta/manifest`, plain) and each
/// document (under `docs`, as one zstd frame of this JSON). Their fields are the coding keys of
/// `CollectionManifest` and `StoredDocument` (module Quarry), which are part of the format as
/// much as these bytes: renaming one breaks stored collections.
public enum StoredJSON {
    /// Encodes `value` as stored: UTF-8 JSON, keys sorted, no whitespace.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return [UInt8](try encoder.encode(value))
    }

    /// Decodes a stored JSON value; throws the decoder's error when it is not a `T`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
