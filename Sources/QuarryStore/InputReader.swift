import CZlib
import CZstd
import Foundation

/// Errors reading an input file.
public enum InputError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case truncated(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open \(path): \(reason)"
        case let .corrupt(path, reason): "\(path) is corrupt: \(reason)"
        case let .truncated(path): "\(path) ends in the middle of a compressed frame (truncated?)"
        }
    }
}

/// Reads a file as a stream of bytes, decompressing gzip or zstd on the fly (detected by the
/// file's magic bytes, not its name), with line and exact-length reads on top.
public final class InputReader {
    public let path: String
    private let handle: FileHandle
    private let decoder: Decoder
    private var buffer: [UInt8] = []
    private var position = 0
    private var finished = false

    private enum Decoder {
        case plain
        case gzip(UnsafeMutablePointer<z_stream>)
        case zstd(OpaquePointer)
    }

    public init(path: String) throws {
        self.path = path
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
        } else if magic == [0x28, 0xB5, 0x2F, 0xFD] {
            guard let stream = ZSTD_createDStream() else {
                throw InputError.cannotOpen(path: path, reason: "zstd could not start")
            }
            decoder = .zstd(stream)
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
    public func readLine() throws -> [UInt8]? {
        while true {
            if let newline = buffer[position...].firstIndex(of: 0x0A) {
                var end = newline
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[position..<end])
                position = newline + 1
                return line
            }
            if try !fill() {
                guard position < buffer.count else { return nil }
                let line = Array(buffer[position...])
                position = buffer.count
                return line
            }
        }
    }

    /// Exactly `count` bytes, or fewer at the end of the input.
    public func read(count: Int) throws -> [UInt8] {
        while buffer.count - position < count, try fill() {}
        let end = min(buffer.count, position + count)
        let bytes = Array(buffer[position..<end])
        position = end
        return bytes
    }

    /// Appends more decoded bytes to the buffer; false at the end of the input.
    private func fill() throws -> Bool {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        while !finished {
            let input = [UInt8](handle.readData(ofLength: 1 << 20))
            let before = buffer.count
            switch decoder {
            case .plain:
                if input.isEmpty { finished = true } else { buffer += input }
            case .gzip(let stream):
                try inflate(stream, input)
            case .zstd(let stream):
                try decompress(stream, input)
            }
            if buffer.count > before { return true }
        }
        return false
    }

    private func inflate(_ stream: UnsafeMutablePointer<z_stream>, _ input: [UInt8]) throws {
        if input.isEmpty {
            finished = true
            if stream.pointee.total_in > 0 && !gzipStreamEnded { throw InputError.truncated(path: path) }
            return
        }
        var output = [UInt8](repeating: 0, count: 1 << 20)
        var input = input
        try input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = UInt32(inBuffer.count)
            while stream.pointee.avail_in > 0 {
                let pending = stream.pointee.avail_in
                let produced: Int = try output.withUnsafeMutableBufferPointer { out in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = UInt32(out.count)
                    let status = CZlib.inflate(stream, Z_NO_FLUSH)
                    switch status {
                    case Z_STREAM_END:
                        gzipStreamEnded = true
                        // Concatenated gzip members (as `cat a.gz b.gz` makes) continue.
                        let remaining = stream.pointee.avail_in
                        let next = stream.pointee.next_in
                        inflateReset(stream)
                        stream.pointee.next_in = next
                        stream.pointee.avail_in = remaining
                    case Z_OK, Z_BUF_ERROR:
                        gzipStreamEnded = false
                    default:
                        let message = stream.pointee.msg.map { String(cString: $0) } ?? "inflate error \(status)"
                        throw InputError.corrupt(path: path, reason: message)
                    }
                    return out.count - Int(stream.pointee.avail_out)
                }
                buffer += output[0..<produced]
                if produced == 0 && stream.pointee.avail_in == pending {
                    throw InputError.corrupt(path: path, reason: "the gzip stream makes no progress")
                }
            }
        }
    }

    private var gzipStreamEnded = false
    private var zstdFrameOpen = false

    private func decompress(_ stream: OpaquePointer, _ input: [UInt8]) throws {
        if input.isEmpty {
            finished = true
            if zstdFrameOpen { throw InputError.truncated(path: path) }
            return
        }
        var output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        try input.withUnsafeBytes { raw in
            var inBuffer = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
            while inBuffer.pos < inBuffer.size {
                let produced: Int = try output.withUnsafeMutableBytes { out in
                    var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                    let status = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    if ZSTD_isError(status) != 0 {
                        throw InputError.corrupt(path: path, reason: String(cString: ZSTD_getErrorName(status)))
                    }
                    zstdFrameOpen = status != 0
                    return outBuffer.pos
                }
                buffer += output[0..<produced]
            }
        }
    }
}
