import CZstd

/// zstd compression for stored records. Frames record their content size and a checksum, so
/// `decompress` can size its output exactly and notice damaged bytes.
public enum Zstd {
    /// A zstd frame holding `bytes`, compressed at `level` (1 fast … 19 small; 3 is zstd's default).
    public static func compress(_ bytes: UnsafeRawBufferPointer, level: Int32 = 3) throws -> [UInt8] {
        guard let context = ZSTD_createCCtx() else { throw StoreError.compression("out of memory") }
        defer { ZSTD_freeCCtx(context) }
        for (parameter, value) in [(ZSTD_c_compressionLevel, level), (ZSTD_c_checksumFlag, 1)] {
            let result = ZSTD_CCtx_setParameter(context, parameter, value)
            if ZSTD_isError(result) != 0 { throw StoreError.compression(errorName(result)) }
        }
        let capacity = ZSTD_compressBound(bytes.count)
        var failure: Int?
        let frame = [UInt8](unsafeUninitializedCapacity: capacity) { output, count in
            let result = withNonNullBase(bytes) { source in
                ZSTD_compress2(context, output.baseAddress, capacity, source, bytes.count)
            }
            if ZSTD_isError(result) != 0 { failure = result } else { count = result }
        }
        if let failure { throw StoreError.compression(errorName(failure)) }
        return frame
    }

    /// A zstd frame holding `bytes`; see `compress(_:level:)` for buffers.
    public static func compress(_ bytes: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress($0, level: level) }
    }

    /// The bytes in the zstd frame `frame`. Throws `StoreError.decompressedSizeTooLarge` when they
    /// would exceed `maxSize` bytes (checked before allocating when the frame records its size),
    /// and `StoreError.corruptData` for anything that is not one intact frame.
    public static func decompress(_ frame: UnsafeRawBufferPointer, maxSize: Int = 64 << 20) throws -> [UInt8] {
        let declared = withNonNullBase(frame) { ZSTD_getFrameContentSize($0, frame.count) }
        switch declared {
        case contentSizeError:
            throw StoreError.corruptData("not a zstd frame (\(frame.count) bytes)")
        case contentSizeUnknown:
            return try decompressStreaming(frame, maxSize: maxSize)
        case let size where size > UInt64(maxSize):
            throw StoreError.decompressedSizeTooLarge(size: Int(clamping: size), max: maxSize)
        default:
            break
        }
        let size = Int(declared)
        var failure: Int?
        // One spare byte keeps the output address non-null for an empty frame.
        let bytes = [UInt8](unsafeUninitializedCapacity: size + 1) { output, count in
            let result = withNonNullBase(frame) { source in
                ZSTD_decompress(output.baseAddress, size, source, frame.count)
            }
            if ZSTD_isError(result) != 0 || result != size { failure = result } else { count = result }
        }
        if let failure {
            let reason =
                ZSTD_isError(failure) != 0 ? errorName(failure) : "\(failure) bytes where the frame declares \(size)"
            throw StoreError.corruptData("zstd frame does not decode: \(reason)")
        }
        return bytes
    }

    /// The bytes in the zstd frame `frame`; see `decompress(_:maxSize:)`.
    public static func decompress(_ frame: [UInt8], maxSize: Int = 64 << 20) throws -> [UInt8] {
        try frame.withUnsafeBytes { try decompress($0, maxSize: maxSize) }
    }

    /// Decompresses a frame that does not record its size (one written by a streaming compressor).
    private static func decompressStreaming(_ frame: UnsafeRawBufferPointer, maxSize: Int) throws -> [UInt8] {
        guard let context = ZSTD_createDCtx() else { throw StoreError.compression("out of memory") }
        defer { ZSTD_freeDCtx(context) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var input = ZSTD_inBuffer(src: frame.baseAddress, size: frame.count, pos: 0)
        while true {
            let (result, produced) = chunk.withUnsafeMutableBytes { chunk in
                var out = ZSTD_outBuffer(dst: chunk.baseAddress, size: chunk.count, pos: 0)
                let result = ZSTD_decompressStream(context, &out, &input)
                return (result, out.pos)
            }
            if ZSTD_isError(result) != 0 {
                throw StoreError.corruptData("zstd frame does not decode: \(errorName(result))")
            }
            if output.count + produced > maxSize {
                throw StoreError.decompressedSizeTooLarge(size: output.count + produced, max: maxSize)
            }
            output.append(contentsOf: chunk[..<produced])
            let inputConsumed = input.pos == input.size
            if result == 0 && inputConsumed { return output }
            if inputConsumed && produced < chunk.count {
                throw StoreError.corruptData("zstd frame is truncated")
            }
        }
    }

    private static let contentSizeUnknown = UInt64.max  // ZSTD_CONTENTSIZE_UNKNOWN
    private static let contentSizeError = UInt64.max - 1  // ZSTD_CONTENTSIZE_ERROR

    private static func errorName(_ code: Int) -> String {
        String(cString: ZSTD_getErrorName(code))
    }

    /// Calls `body` with `buffer`'s base address, or a valid dummy address for an empty buffer
    /// (zstd wants a non-null pointer even for zero bytes).
    private static func withNonNullBase<T>(_ buffer: UnsafeRawBufferPointer, _ body: (UnsafeRawPointer) -> T) -> T {
        if let base = buffer.baseAddress { return body(base) }
        var empty: UInt8 = 0
        return withUnsafePointer(to: &empty) { body(UnsafeRawPointer($0)) }
    }
}
