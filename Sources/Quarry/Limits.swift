import QuarryIndex

/// The bounds every number a caller passes is checked against before it is used, so that no
/// argument can trap a conversion, overflow an allocation or outrun the kernels' arithmetic.
public enum Limits {
    /// The most dimensions a collection may have: the prefilter's Hamming and asymmetric
    /// distances are counted in UInt16 (exact up to 65,535 bits, and the query keeps at least one
    /// bit plane), the INT8 dot products in Int32 (exact past 130,000 dimensions).
    public static let maxDimension = 32_768
    /// The most posting lists a collection may ask for.
    public static let maxListCount = 1 << 20
    /// The largest k a search may ask for.
    public static let maxK = 1 << 20
    /// The largest oversampling factor.
    public static let maxOversample = 10_000.0
    /// The most candidates one search rescores (k × oversample).
    public static let maxCandidates = 1 << 24
    /// The most threads one search or batch may use.
    public static let maxThreads = 1_024
    /// The most rows one write transaction may hold.
    public static let maxBatchSize = 1 << 22

    /// Checks that `value` lies in `range`, naming `what` in the error.
    static func check(_ value: Int, in range: ClosedRange<Int>, _ what: String) throws {
        guard range.contains(value) else {
            throw QuarryError.invalidArgument(
                "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }
}

extension IngestOptions {
    /// Checks the batch and training settings.
    func validate() throws {
        try Limits.check(batchSize, in: 1...Limits.maxBatchSize, "the batch size")
        if let trainingSampleSize {
            try Limits.check(trainingSampleSize, in: 1...Limits.maxBatchSize, "the training sample")
        }
        try Limits.check(trainingIterations, in: 0...1_000, "the k-means iterations")
    }
}

extension DocumentIngestOptions {
    /// Checks the chunking, batch and training settings.
    func validate() throws {
        if let tokensPerChunk { try Limits.check(tokensPerChunk, in: 1...1 << 20, "the tokens per chunk") }
        try Limits.check(overlap, in: 0...1 << 20, "the chunk overlap")
        try Limits.check(batchSize, in: 1...1 << 20, "the documents per batch")
        try Limits.check(trainingBatchSize, in: 1...1 << 20, "the training batch")
        try vectorOptions.validate()
    }
}
