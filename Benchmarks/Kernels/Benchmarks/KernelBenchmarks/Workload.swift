/// The data the kernels read, shaped like a 1,024-dimension collection. Every buffer is created
/// on first use; package-benchmark runs each benchmark in a process of its own, and the
/// benchmarks touch what they read in their setup hook, so generating the data is never measured.
enum Workload {
    /// Items per measured iteration: the benchmarks' scaling factor, so the throughput column
    /// reads as items per second.
    static let itemsPerIteration = 1_000_000

    static let dimensions = 1024
    /// One sign bit per dimension.
    static let codeBytes = dimensions / 8
    /// A stored record: the INT8 vector, a 4-byte norm and a 4-byte list number.
    static let recordStride = dimensions + 8
    /// Query bit planes of the asymmetric prefilter and their offset, as the search uses them.
    static let queryPlanes = 6
    static let planeOffset: Int32 = 32

    /// `itemsPerIteration` records at `recordStride`: 1.03 GB of random bytes, 32 times the
    /// 32 MiB last-level cache, so every pass streams from memory. The prefilter benchmarks read
    /// the same bytes as 1-bit codes.
    nonisolated(unsafe) static let records = randomBytes(count: itemsPerIteration * recordStride, seed: 1)

    /// How many windows of `itemsPerIteration` codes (128 MB each) fit in `records`.
    static let codeWindowCount = records.count / (itemsPerIteration * codeBytes)
    nonisolated(unsafe) private static var nextCodeWindow = 0

    /// The codes for the next prefilter pass: the windows of `records` in turn, so that a window
    /// has long left the cache when it is read again (a 128 MB buffer read over and over would
    /// find part of itself still in the cache).
    static func nextCodes() -> UnsafePointer<UInt8> {
        let window = nextCodeWindow
        nextCodeWindow = (window + 1) % codeWindowCount
        return UnsafePointer(records.baseAddress!.assumingMemoryBound(to: UInt8.self))
            + window * itemsPerIteration * codeBytes
    }

    /// The vector of every record once, in random order, as rescoring reaches them.
    nonisolated(unsafe) static let shuffledVectors: UnsafeMutableBufferPointer<UnsafePointer<Int8>?> = {
        var pointers = UnsafeMutableBufferPointer<UnsafePointer<Int8>?>.allocate(capacity: itemsPerIteration)
        let base = UnsafePointer(records.baseAddress!.assumingMemoryBound(to: Int8.self))
        for record in 0..<itemsPerIteration {
            pointers[record] = base + record * recordStride
        }
        var generator = XorShiftGenerator(seed: 2)
        pointers.shuffle(using: &generator)
        return pointers
    }()

    nonisolated(unsafe) static let queryCode = randomBytes(count: codeBytes, seed: 3)
    nonisolated(unsafe) static let queryPlaneBits = randomBytes(count: queryPlanes * codeBytes, seed: 4)
    nonisolated(unsafe) static let queryVector = randomBytes(count: dimensions, seed: 5)

    /// Output of the per-code and per-vector kernels.
    nonisolated(unsafe) static let distances = UnsafeMutableBufferPointer<UInt16>.allocate(
        capacity: itemsPerIteration)
    nonisolated(unsafe) static let scores = UnsafeMutableBufferPointer<Int32>.allocate(capacity: itemsPerIteration)

    /// Random bytes, 4 KiB aligned so that 64-bit reads of the buffer are aligned.
    static func randomBytes(count: Int, seed: UInt64) -> UnsafeMutableRawBufferPointer {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 4096)
        var generator = XorShiftGenerator(seed: seed)
        let wholeWords = count / 8 * 8
        for offset in stride(from: 0, to: wholeWords, by: 8) {
            bytes.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self)
        }
        for index in wholeWords..<count { bytes[index] = UInt8(truncatingIfNeeded: generator.next()) }
        return bytes
    }
}

/// xorshift64* (Vigna): fast, seedable, good enough for test data.
struct XorShiftGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
