/// How the 1-bit prefilter scores a stored code against the query.
public enum Prefilter: String, Sendable, Equatable, CaseIterable, Codable {
    /// The query's INT8 values (rounded to a few bits) against the stored sign bits:
    /// sum of q[d] over the dimensions whose bit is set, which ranks like the dot product of
    /// the query with the sign vector. Costs a few popcounts a word and keeps the query's
    /// magnitudes, so far fewer candidates reach the same recall.
    case asymmetric
    /// Hamming distance between the query's sign bits and the stored ones: one popcount a word.
    case hamming
}

/// Parameters of an approximate search.
public struct SearchParameters: Sendable, Equatable {
    /// Results wanted.
    public var k: Int
    /// Posting lists probed.
    public var nprobe: Int
    /// Candidates kept by the 1-bit prefilter, as a multiple of k.
    public var oversample: Double
    /// How the prefilter scores codes.
    public var prefilter: Prefilter
    /// Threads one search may use: the probed lists and then the candidates are split between
    /// them. Pays at large k (a top-1000 search scans and rescores tens of thousands of codes);
    /// results are identical for any count.
    public var threads: Int
    /// Whether a vector may sit in several lists (redundant assignment), so that candidates
    /// are deduplicated before rescoring.
    public var listsShareVectors: Bool
    public init(
        k: Int, nprobe: Int, oversample: Double, prefilter: Prefilter = .asymmetric, threads: Int = 1,
        listsShareVectors: Bool = false
    ) {
        self.k = k
        self.nprobe = nprobe
        self.oversample = oversample
        self.prefilter = prefilter
        self.threads = max(1, threads)
        self.listsShareVectors = listsShareVectors
    }
    /// Candidates rescored: k × oversample, at least k.
    public var candidateCount: Int { max(k, Int((Double(k) * oversample).rounded(.up))) }
}
