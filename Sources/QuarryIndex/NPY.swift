import Foundation

/// Element types Quarry reads from and writes to `.npy` files.
public enum NPYElementType: String, Sendable {
    case float32 = "<f4"
    case float16 = "<f2"
    case int8 = "|i1"
    case uint8 = "|u1"
    case int32 = "<i4"
    case int64 = "<i8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .int8, .uint8: 1
        case .float16: 2
        case .float32, .int32: 4
        case .int64: 8
        }
    }

    init?(descriptor: String) {
        // Single-byte types may be written with any byte-order mark.
        switch descriptor {
        case "<f4", "=f4": self = .float32
        case "<f2", "=f2": self = .float16
        case "|i1", "<i1", "=i1", "i1": self = .int8
        case "|u1", "<u1", "=u1", "u1": self = .uint8
        case "<i4", "=i4": self = .int32
        case "<i8", "=i8": self = .int64
        default: return nil
        }
    }
}

/// Errors reading vector files, each naming the file and what is wrong with it.
public struct VectorFileError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "\(path): \(problem)" }
    public init(_ path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }
}

/// A two-dimensional array stored in a `.npy` file, memory-mapped for reading.
public final class NPYMatrix: @unchecked Sendable {
    public let path: String
    public let elementType: NPYElementType
    public let rows: Int
    public let columns: Int
    let mappedData: Data
    let payloadOffset: Int

    /// Opens and validates `path`: the magic string, a C-order 1-D or 2-D array of a supported
    /// element type, and a payload exactly as long as the header says.
    public convenience init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw VectorFileError(path, "no such file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw VectorFileError(path, "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    /// Validates `data` as the contents of a `.npy` file; `path` names it in errors.
    public init(data: Data, path: String) throws {
        self.path = path
        // Subscripts below count from 0.
        let data = data.startIndex == 0 ? data : Data(data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard data.count >= 10, Array(data.prefix(6)) == magic else {
            throw VectorFileError(path, "not a .npy file (missing the \\x93NUMPY magic string)")
        }
        let major = data[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(data[8]) | Int(data[9]) << 8
            headerStart = 10
        case 2, 3:
            guard data.count >= 12 else { throw VectorFileError(path, "truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(data[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw VectorFileError(path, "unsupported .npy format version \(major)")
        }
        // numpy itself refuses headers over 10,000 bytes unless told otherwise.
        guard headerLength <= 1 << 20 else {
            throw VectorFileError(path, ".npy header of \(headerLength) bytes is over the limit of 1 MiB")
        }
        guard data.count >= headerStart + headerLength,
            let header = String(
                data: data.subdata(in: headerStart..<headerStart + headerLength), encoding: .utf8)
        else { throw VectorFileError(path, "truncated .npy header") }
        let parsed = try NPYHeader(parsing: header, path: path)
        guard let type = NPYElementType(descriptor: parsed.descriptor) else {
            throw VectorFileError(
                path,
                "unsupported element type '\(parsed.descriptor)' (expected float32, float16, int8, uint8, int32 or int64, little-endian)"
            )
        }
        guard !parsed.fortranOrder else {
            throw VectorFileError(path, "Fortran-order arrays are not supported; save in C order")
        }
        switch parsed.shape.count {
        case 1:
            (rows, columns) = (parsed.shape[0], 1)
        case 2:
            (rows, columns) = (parsed.shape[0], parsed.shape[1])
        default:
            throw VectorFileError(path, "expected a 2-D array [n, dims], found shape \(parsed.shape)")
        }
        guard columns > 0 || rows == 0 else {
            throw VectorFileError(path, "shape \(parsed.shape) has rows of no elements")
        }
        let (elements, elementsOverflow) = rows.multipliedReportingOverflow(by: columns)
        let (expected, bytesOverflow) = elements.multipliedReportingOverflow(by: type.size)
        guard !elementsOverflow, !bytesOverflow else {
            throw VectorFileError(path, "shape \(parsed.shape) is too large to address")
        }
        let available = data.count - headerStart - headerLength
        guard available == expected else {
            throw VectorFileError(
                path,
                available < expected
                    ? "truncated: header promises \(rows)x\(columns) \(type) (\(expected) bytes) but the file holds \(available)"
                    : "\(available - expected) unexpected trailing bytes after the array")
        }
        self.elementType = type
        self.mappedData = data
        self.payloadOffset = headerStart + headerLength
    }

    /// Calls `body` with the raw payload (row-major).
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try mappedData.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[payloadOffset...]))
        }
    }

    /// Integer values of a 2-D int32 or int64 array (ground-truth neighbour ids), row-major.
    public func integerRows() throws -> [[Int]] {
        guard elementType == .int32 || elementType == .int64 else {
            throw VectorFileError(path, "expected int32 or int64 row numbers, found \(elementType)")
        }
        return withPayload { payload in
            (0..<rows).map { row in
                (0..<columns).map { column in
                    let index = row * columns + column
                    return elementType == .int32
                        ? Int(payload.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
                        : Int(payload.loadUnaligned(fromByteOffset: index * 8, as: Int64.self))
                }
            }
        }
    }
}

/// Converts `count` elements of `type` at `source` to Float.
func convertToFloat(
    _ source: UnsafeRawPointer, type: NPYElementType, count: Int, into out: UnsafeMutablePointer<Float>
) {
    switch type {
    case .float32:
        for i in 0..<count { out[i] = source.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
    case .float16:
        for i in 0..<count {
            out[i] = Float(
                Float16(bitPattern: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
        }
    case .int8:
        let p = source.assumingMemoryBound(to: Int8.self)
        for i in 0..<count { out[i] = Float(p[i]) }
    case .uint8:
        let p = source.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { out[i] = Float(p[i]) }
    case .int32:
        for i in 0..<count { out[i] = Float(source.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
    case .int64:
        for i in 0..<count { out[i] = Float(source.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
    }
}

/// The dictionary in a `.npy` header.
struct NPYHeader {
    var descriptor: String
    var fortranOrder: Bool
    var shape: [Int]

    init(parsing header: String, path: String) throws {
        func value(of key: String) -> Substring? {
            guard let keyRange = header.range(of: "'\(key)'") else { return nil }
            let rest = header[keyRange.upperBound...].drop { $0 == " " || $0 == ":" }
            return rest
        }
        guard let descr = value(of: "descr"), descr.first == "'",
            let end = descr.dropFirst().firstIndex(of: "'")
        else { throw VectorFileError(path, "malformed .npy header: no 'descr'") }
        descriptor = String(descr[descr.index(after: descr.startIndex)..<end])
        guard let fortran = value(of: "fortran_order") else {
            throw VectorFileError(path, "malformed .npy header: no 'fortran_order'")
        }
        fortranOrder = fortran.hasPrefix("True")
        guard let shapeText = value(of: "shape"), shapeText.first == "(",
            let close = shapeText.firstIndex(of: ")")
        else { throw VectorFileError(path, "malformed .npy header: no 'shape'") }
        let parts = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        var shape: [Int] = []
        for part in parts {
            guard let dimension = Int(part), dimension >= 0 else {
                throw VectorFileError(path, "malformed .npy shape '\(shapeText[...close])'")
            }
            shape.append(dimension)
        }
        self.shape = shape
    }
}

/// Writes an array of values as a `.npy` matrix of shape [rows, columns].
public func writeNPY<T>(path: String, type: NPYElementType, rows: Int, columns: Int, values: [T])
    throws
{
    precondition(values.count == rows * columns, "value count does not match the shape")
    let writer = try NPYWriter(path: path, type: type, rows: rows, columns: columns)
    try writer.append(values)
    try writer.finish()
}
