import CZlib
import CZstd
import Foundation

/// Errors reading an input file.
public enum InputError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case truncated(path: String)
    /// A line or record is larger than the reader's limit.
    case tooLarge(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open \(path): \(reason)"
        case let .corrupt(path, reason): "\(path) is corrupt: \(reason)"
        case let .truncated(path): "\(path) ends in the middle of a compressed frame (truncated?)"
        case let .tooLarge(path, reason): "\(path): \(reason)"
        }
    }
}

/// Reads a file as a stream of bytes, decompressing gzip or zstd on the fly (detected by the
/// file's magic bytes, not its name), with line and exact-length reads on top. No line or
/// counted read may exceed `maxRecordBytes`, and at most one decompressed chunk is held beyond
/// it, so a decompression bomb of one endless line is an error rather than an exhausted memory.
public final class InputReader {
    /// The default limit on one line or counted read: 64 MiB.
    public static let defaultMaxRecordBytes = 64 << 20

    public let path: String
    /// The largest line (without its terminator) or counted read allowed.
    public let maxRecordBytes: Int
    /// The 1-based number of the line the next read starts in.
    public private(set) var lineNumber = 1
    private let handle: FileHandle
    private let decoder: Decoder
    private var buffer: [UInt8] = []
    private var position = 0
    /// Bytes of `buffer` before this index (from `position`) hold no newline.
    private var scannedTo = 0
    /// Compressed bytes read from the file and not yet given to the decoder.
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var fileEnded = false
    /// Whether the decoder's last step filled its output chunk, so it may hold more output.
    private var decoderMayHaveOutput = false
    private var output: [UInt8] = []

    private static let fileChunkBytes = 1 << 20

    private enum Decoder {
        case plain
        case gzip(UnsafeMutablePointer<z_stream>)
        case zstd(OpaquePointer)
    }

    public init(path: String, maxRecordBytes: Int = InputReader.defaultMaxRecordBytes) throws {
        self.path = path
        self.maxRecordBytes = max(1, maxRecordBytes)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw InputError.cannotOpen(path: path, reason: reason)
        }
        self.handle = handle
        let magic = [UInt8](handle.readData(ofLength: 4))
        try handle.seek(toOffset: 0)
        if magic.starts(with: [0x1F, 0x8B]) {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 32: a zlib or gzip header, detected automatically.
            guard inflateInit2_(stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                throw InputError.cannotOpen(path: path, reason: "zlib could not start")
            }
            decoder = .gzip(stream)
            output = [UInt8](repeating: 0, count: 1 << 20)
        } else if magic == [0x28, 0xB5, 0x2F, 0xFD] {
            guard let stream = ZSTD_createDStream() else {
                throw InputError.cannotOpen(path: path, reason: "zstd could not start")
            }
            decoder = .zstd(stream)
            output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        } else {
            decoder = .plain
        }
    }

    deinit {
        switch decoder {
        case .plain: break
        case .gzip(let stream):
            inflateEnd(stream)
            stream.deallocate()
        case .zstd(let stream): ZSTD_freeDStream(stream)
        }
        try? handle.close()
    }

    /// The next line without its terminator ("\n" or "\r\n"), or nil at the end of the input.
    /// Throws `InputError.tooLarge` for a line longer than `maxRecordBytes`.
    public func readLine() throws -> [UInt8]? {
        while true {
            if let newline = firstNewline(from: max(position, scannedTo)) {
                var end = newline
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                try checkLineLength(end - position)
                let line = Array(buffer[position..<end])
                position = newline + 1
                scannedTo = position
                lineNumber += 1
                return line
            }
            scannedTo = buffer.count
            try checkLineLength(buffer.count - position)
            if try !fill() {
                guard position < buffer.count else { return nil }
                let line = Array(buffer[position...])
                position = buffer.count
                scannedTo = position
                return line
            }
        }
    }

    /// The index of the first "\n" in the buffer at or after `start`.
    private func firstNewline(from start: Int) -> Int? {
        buffer.withUnsafeBufferPointer { bytes in
            guard start < bytes.count, let base = bytes.baseAddress,
                let found = memchr(base + start, 0x0A, bytes.count - start)
            else { return nil }
            return UnsafeRawPointer(base).distance(to: found)
        }
    }

    private func checkLineLength(_ length: Int) throws {
        guard length <= maxRecordBytes else {
            throw InputError.tooLarge(
                path: path, reason: "line \(lineNumber) is longer than the limit of \(maxRecordBytes) bytes")
        }
    }

    /// Exactly `count` bytes, or fewer at the end of the input. Throws `InputError.tooLarge`
    /// when `count` exceeds `maxRecordBytes`.
    public func read(count: Int) throws -> [UInt8] {
        guard count >= 0, count <= maxRecordBytes else {
            throw InputError.tooLarge(
                path: path,
                reason: "a \(count)-byte record at line \(lineNumber) is over the limit of \(maxRecordBytes) bytes")
        }
        while buffer.count - position < count, try fill() {}
        let end = min(buffer.count, position + count)
        let bytes = Array(buffer[position..<end])
        lineNumber += bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        position = end
        scannedTo = position
        return bytes
    }

    /// Appends more decoded bytes (at most one file or decoder chunk) to the buffer; false at
    /// the end of the input.
    private func fill() throws -> Bool {
        if position > 0 {
            buffer.removeFirst(position)
            scannedTo = max(0, scannedTo - position)
            position = 0
        }
        while true {
            if inputOffset == input.count && !decoderMayHaveOutput {
                if fileEnded { return false }
                input = [UInt8](handle.readData(ofLength: Self.fileChunkBytes))
                inputOffset = 0
                if input.isEmpty {
                    fileEnded = true
                    try checkComplete()
                    return false
                }
            }
            if try decodeStep() > 0 { return true }
        }
    }

    /// Decodes from the pending input into the buffer; returns the bytes appended.
    private func decodeStep() throws -> Int {
        switch decoder {
        case .plain:
            buffer += input[inputOffset...]
            defer { inputOffset = input.count }
            return input.count - inputOffset
        case .gzip(let stream):
            return try inflateStep(stream)
        case .zstd(let stream):
            return try decompressStep(stream)
        }
    }

    private var gzipStreamEnded = false
    private var zstdFrameOpen = false

    /// At the end of the file: an unfinished compressed stream is truncated.
    private func checkComplete() throws {
        switch decoder {
        case .plain: break
        case .gzip(let stream):
            if stream.pointee.total_in > 0 && !gzipStreamEnded { throw InputError.truncated(path: path) }
        case .zstd:
            if zstdFrameOpen { throw InputError.truncated(path: path) }
        }
    }

    private func inflateStep(_ stream: UnsafeMutablePointer<z_stream>) throws -> Int {
        let available = input.count - inputOffset
        let (consumed, produced) = try input.withUnsafeMutableBufferPointer { inBuffer in
            try output.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_in = inBuffer.baseAddress.map { $0 + inputOffset }
                stream.pointee.avail_in = UInt32(available)
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = UInt32(out.count)
                let status = CZlib.inflate(stream, Z_NO_FLUSH)
                let consumed = available - Int(stream.pointee.avail_in)
                let produced = out.count - Int(stream.pointee.avail_out)
                switch status {
                case Z_STREAM_END:
                    gzipStreamEnded = true
                    // Concatenated gzip members (as `cat a.gz b.gz` makes) continue.
                    inflateReset(stream)
                case Z_OK, Z_BUF_ERROR:
                    if consumed > 0 || produced > 0 { gzipStreamEnded = false }
                default:
                    let message = stream.pointee.msg.map { String(cString: $0) } ?? "inflate error \(status)"
                    throw InputError.corrupt(path: path, reason: message)
                }
                return (consumed, produced)
            }
        }
        return try finishStep(available: available, consumed: consumed, produced: produced, codec: "gzip")
    }

    private func decompressStep(_ stream: OpaquePointer) throws -> Int {
        let available = input.count - inputOffset
        let (consumed, produced) = try input.withUnsafeBytes { raw in
            try output.withUnsafeMutableBytes { out in
                var inBuffer = ZSTD_inBuffer(src: raw.baseAddress.map { $0 + inputOffset }, size: available, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let status = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                if ZSTD_isError(status) != 0 {
                    throw InputError.corrupt(path: path, reason: String(cString: ZSTD_getErrorName(status)))
                }
                // A call that moved nothing (a flush after the frame ended) says nothing about it.
                if inBuffer.pos > 0 || outBuffer.pos > 0 { zstdFrameOpen = status != 0 }
                return (inBuffer.pos, outBuffer.pos)
            }
        }
        return try finishStep(available: available, consumed: consumed, produced: produced, codec: "zstd")
    }

    /// Books one decoder step: the input it consumed, the output it made (appended to the
    /// buffer); a step that had input and moved nothing is a stream that cannot go on.
    private func finishStep(available: Int, consumed: Int, produced: Int, codec: String) throws -> Int {
        inputOffset += consumed
        if available > 0 && consumed == 0 && produced == 0 {
            throw InputError.corrupt(path: path, reason: "the \(codec) stream makes no progress")
        }
        decoderMayHaveOutput = produced == output.count
        buffer += output[0..<produced]
        return produced
    }
}
