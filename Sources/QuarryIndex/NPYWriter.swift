import Foundation

/// Writes a C-order `.npy` matrix row block by row block, so large outputs never sit in memory
/// whole. The file appears under its name only when `finish()` succeeds.
public final class NPYWriter {
    public let path: String
    public let type: NPYElementType
    public let rows: Int
    public let columns: Int
    private let temporaryPath: String
    private let handle: FileHandle
    private var written = 0

    public init(path: String, type: NPYElementType, rows: Int, columns: Int) throws {
        (self.path, self.type, self.rows, self.columns) = (path, type, rows, columns)
        temporaryPath = path + ".partial"
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporaryPath)
        else { throw VectorFileError(path, "cannot create the file") }
        self.handle = handle
        var header = "{'descr': '\(type.rawValue)', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(header.utf8.count)
        var prefix = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(length & 0xFF), UInt8(length >> 8)])
        prefix.append(contentsOf: Array(header.utf8))
        try write(prefix)
    }

    /// Appends raw row-major elements (a whole number of rows).
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(bytes.count % (columns * type.size) == 0, "append whole rows")
        written += bytes.count / (columns * type.size)
        guard written <= rows else { throw VectorFileError(path, "more rows written than declared") }
        try write(Data(bytes))
    }

    /// Appends an array of elements (a whole number of rows).
    public func append<T>(_ values: [T]) throws {
        precondition(MemoryLayout<T>.size == type.size)
        try values.withUnsafeBytes { try append($0) }
    }

    /// Closes the file and moves it into place; throws when fewer rows were written than declared.
    public func finish() throws {
        try handle.close()
        guard written == rows else {
            try? FileManager.default.removeItem(atPath: temporaryPath)
            throw VectorFileError(path, "only \(written) of \(rows) rows were written")
        }
        _ = try? FileManager.default.removeItem(atPath: path)
        do {
            try FileManager.default.moveItem(atPath: temporaryPath, toPath: path)
        } catch { throw VectorFileError(path, "cannot move the finished file into place: \(error)") }
    }

    private func write(_ data: Data) throws {
        do { try handle.write(contentsOf: data) } catch {
            throw VectorFileError(path, "write failed: \(error.localizedDescription)")
        }
    }
}
