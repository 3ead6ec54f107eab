import Foundation

/// A memory-mapped file of fixed-dimension vectors: `.npy` (float32, float16, int8, uint8),
/// `.fvecs` (float32) or `.bvecs` (uint8).
public final class VectorFile: @unchecked Sendable {
    public let path: String
    public let elementType: NPYElementType
    public let count: Int
    public let dimension: Int
    private let data: Data
    private let firstRowOffset: Int
    private let rowStride: Int

    /// Opens `path`, choosing the format by its extension, and validates its layout.
    public convenience init(path: String) throws {
        let lowered = path.lowercased()
        if lowered.hasSuffix(".fvecs") || lowered.hasSuffix(".bvecs") {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            else { throw VectorFileError(path, "no such file or not readable") }
            try self.init(data: data, path: path)
        } else {
            try self.init(matrix: NPYMatrix(path: path))
        }
    }

    /// Validates `data` as the contents of a vector file, its format chosen by the extension
    /// of `path` (which names it in errors).
    public convenience init(data: Data, path: String) throws {
        let lowered = path.lowercased()
        if lowered.hasSuffix(".fvecs") || lowered.hasSuffix(".bvecs") {
            try self.init(vecs: data.startIndex == 0 ? data : Data(data), path: path)
        } else {
            try self.init(matrix: NPYMatrix(data: data, path: path))
        }
    }

    private init(vecs data: Data, path: String) throws {
        self.path = path
        let lowered = path.lowercased()
        let type: NPYElementType = lowered.hasSuffix(".fvecs") ? .float32 : .uint8
        guard data.count >= 4 else { throw VectorFileError(path, "empty or truncated vecs file") }
        let dimension = data.withUnsafeBytes { Int($0.loadUnaligned(as: Int32.self)) }
        guard dimension > 0, dimension <= 1 << 16 else {
            throw VectorFileError(path, "implausible dimension \(dimension) in the first record")
        }
        let stride = 4 + dimension * type.size
        guard data.count % stride == 0 else {
            throw VectorFileError(
                path, "size \(data.count) is not a whole number of \(stride)-byte records (truncated?)")
        }
        let count = data.count / stride
        let consistent = data.withUnsafeBytes { raw in
            (0..<count).allSatisfy {
                Int(raw.loadUnaligned(fromByteOffset: $0 * stride, as: Int32.self)) == dimension
            }
        }
        guard consistent else { throw VectorFileError(path, "records of differing dimensions") }
        (self.data, self.elementType, self.count, self.dimension) = (data, type, count, dimension)
        (firstRowOffset, rowStride) = (4, stride)
    }

    private init(matrix: NPYMatrix) throws {
        let path = matrix.path
        self.path = path
        guard [.float32, .float16, .int8, .uint8].contains(matrix.elementType) else {
            throw VectorFileError(
                path, "vectors must be float32, float16, int8 or uint8; found \(matrix.elementType)")
        }
        guard matrix.columns <= 1 << 16 else {
            throw VectorFileError(path, "implausible dimension \(matrix.columns) (at most 65536)")
        }
        (data, elementType, count, dimension) = (
            matrix.mappedData, matrix.elementType, matrix.rows, matrix.columns
        )
        (firstRowOffset, rowStride) = (matrix.payloadOffset, matrix.columns * matrix.elementType.size)
    }

    /// Whether the values are floating point (and so need quantizing).
    public var isFloatingPoint: Bool { elementType == .float32 || elementType == .float16 }

    /// Calls `body` with a pointer to row `row`'s raw elements.
    @inlinable public func withRow<R>(_ row: Int, _ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        try withRows { try body($0(row)) }
    }

    /// Calls `body` with a function from row number to the row's raw elements.
    public func withRows<R>(_ body: ((Int) -> UnsafeRawPointer) throws -> R) rethrows -> R {
        try data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + firstRowOffset
            let stride = rowStride
            return try body { base + $0 * stride }
        }
    }

    /// Row `row` converted to Float.
    public func floatRow(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        withRow(row) { convertToFloat($0, type: elementType, count: dimension, into: out) }
    }

    /// The first row (0-based) holding a NaN or infinite value, if any.
    public func firstNonFiniteRow() -> Int? {
        guard isFloatingPoint else { return nil }
        return withRows { row in
            for index in 0..<count {
                let p = row(index)
                if elementType == .float32 {
                    for i in 0..<dimension
                    where !p.loadUnaligned(fromByteOffset: i * 4, as: Float.self).isFinite {
                        return index
                    }
                } else {
                    for i in 0..<dimension {
                        // float16: exponent all ones means infinity or NaN.
                        let bits = p.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
                        if bits & 0x7C00 == 0x7C00 { return index }
                    }
                }
            }
            return nil
        }
    }
}
