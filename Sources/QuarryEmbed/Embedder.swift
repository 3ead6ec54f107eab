import Foundation

/// Errors raised by `Embedder` for arguments it cannot honour.
public enum EmbedderError: Error, CustomStringConvertible {
    case invalidMaxTokens(requested: Int, minimum: Int, maximum: Int)

    public var description: String {
        switch self {
        case .invalidMaxTokens(let requested, let minimum, let maximum):
            "maxTokens \(requested) outside \(minimum)...\(maximum) for this model"
        }
    }
}

/// Where a long embedding run stands, reported after every batch.
public struct EmbeddingProgress: Sendable {
    /// Sequences encoded so far (texts, or context windows for `embedContextual`).
    public let sequencesDone: Int
    public let sequenceCount: Int
    /// Tokens run through the encoder so far, special tokens included.
    public let tokensDone: Int
}

/// The embedding of one window of a long text (see `Embedder.embedWindows`).
public struct WindowEmbedding: Sendable {
    /// Positions of the window's tokens among the text's tokens (special tokens not counted).
    public let tokenRange: Range<Int>
    public let vector: [Float]
}

/// Text to vectors: tokenizer + encoder + mean pooling (+ L2 normalisation when the model's
/// sentence-transformers config has a Normalize module, as all-MiniLM-L6-v2 does; pplx-embed
/// vectors are left unnormalised and meant for `EmbeddingQuantization.int8Tanh` / `.binary`).
///
/// Inputs are sorted by length and encoded in packed batches of similar lengths (no padding);
/// outputs come back in input order. Inputs longer than `maxTokens` are truncated with a
/// message on stderr; `embedWindows` covers a long text with overlapping windows instead.
/// Safe to share across threads (calls run concurrently). Batches are encoded on as many
/// threads as OpenBLAS is set to use, one batch per thread (see `TransformerEncoder`).
public final class Embedder: Sendable {
    public let encoder: TransformerEncoder
    public let tokenizer: any Tokenizer
    /// Longest sequence encoded in one piece, special tokens included.
    public let maxTokens: Int
    /// Whether output vectors are L2-normalised.
    public let normalizes: Bool
    private let tokensPerBatch: Int

    /// Loads the model and its tokenizer (`loadTokenizer(modelDirectory:)`) from `modelDirectory`;
    /// `maxTokens` and `weights` as in `init(modelDirectory:tokenizer:maxTokens:weights:)`.
    public convenience init(modelDirectory: URL, maxTokens: Int? = nil, weights: WeightPrecision = .f32) throws {
        try self.init(
            modelDirectory: modelDirectory, tokenizer: try loadTokenizer(modelDirectory: modelDirectory),
            maxTokens: maxTokens, weights: weights)
    }

    /// Loads the model in `modelDirectory` (its dense layers' weights in `weights` precision)
    /// and uses `tokenizer` for its text. `maxTokens` defaults to sentence-transformers'
    /// `max_seq_length` when the directory has a `sentence_bert_config.json`
    /// (all-MiniLM-L6-v2: 256), else to `max_position_embeddings`.
    public init(
        modelDirectory: URL, tokenizer: any Tokenizer, maxTokens: Int? = nil, weights: WeightPrecision = .f32
    ) throws {
        encoder = try TransformerEncoder(modelDirectory: modelDirectory, weights: weights)
        self.tokenizer = tokenizer
        let settings = try SentenceTransformerSettings(directory: modelDirectory)
        normalizes = settings.normalizes
        let limit = encoder.config.maxPositions
        let minimum = tokenizer.prefixTokens.count + tokenizer.suffixTokens.count + 1
        let chosen = maxTokens ?? min(settings.maxSequenceLength ?? limit, limit)
        guard chosen >= minimum, chosen <= limit else {
            throw EmbedderError.invalidMaxTokens(requested: chosen, minimum: minimum, maximum: limit)
        }
        self.maxTokens = chosen
        // About 256 MB of feed-forward activations per batch (a longer sequence gets a batch alone).
        tokensPerBatch = min(8192, (1 << 26) / encoder.config.intermediateSize)
    }

    /// Width of the output vectors (before any Matryoshka truncation).
    public var dimension: Int { encoder.hiddenSize }
    public var modelType: ModelArchitecture { encoder.config.architecture }

    /// One vector per text.
    public func embed(_ texts: [String], progress: ((EmbeddingProgress) -> Void)? = nil) throws -> [[Float]] {
        try embedTokens(texts.map(tokenizer.encode), progress: progress)
    }

    /// One vector per token sequence. Sequences are token ids without special tokens (as
    /// `Tokenizer.encode` returns them); the tokenizer's prefix and suffix are added here.
    public func embedTokens(_ sequences: [[Int32]], progress: ((EmbeddingProgress) -> Void)? = nil) throws
        -> [[Float]]
    {
        let framed = sequences.map(framedTruncating)
        reportTruncation(lengths: sequences.map(\.count))
        var vectors = [[Float]](repeating: [], count: framed.count)
        try encodeInBatches(framed, progress: progress) { index, states, length in
            vectors[index] = finish(Pooling.mean(states, rows: length, width: dimension))
        }
        return vectors
    }

    /// Embeds one long text as overlapping windows of at most `maxTokens` tokens (special
    /// tokens included) that together cover all of it; consecutive windows share `overlap`
    /// tokens (default: a quarter of a window).
    public func embedWindows(_ text: String, overlap: Int? = nil) throws -> [WindowEmbedding] {
        let tokens = tokenizer.encode(text)
        let size = bodyCapacity
        let shared = min(max(overlap ?? size / 4, 0), size - 1)
        var ranges: [Range<Int>] = []
        var start = 0
        repeat {
            let end = min(start + size, tokens.count)
            ranges.append(start..<end)
            start = end - shared
        } while ranges.last!.upperBound < tokens.count
        let vectors = try embedTokens(ranges.map { Array(tokens[$0]) })
        return zip(ranges, vectors).map { WindowEmbedding(tokenRange: $0, vector: $1) }
    }

    /// Late chunking (pplx-embed-context): each document's chunks are joined with the
    /// tokenizer's separator into one sequence, encoded in one pass so every token sees the
    /// whole document, and each chunk is mean-pooled over its own tokens exactly as the model
    /// card's `extract_chunks_from_concatenated` does (separators excluded; an empty chunk
    /// gives a zero vector). Returns one vector per chunk, in order.
    ///
    /// Separator ids inside a chunk's own text are dropped so chunks stay aligned. A document
    /// longer than `maxTokens` is split, at chunk boundaries, into several context windows
    /// (a note goes to stderr); a single chunk longer than a window is truncated.
    public func embedContextual(_ documents: [[String]], progress: ((EmbeddingProgress) -> Void)? = nil) throws
        -> [[[Float]]]
    {
        let separator = tokenizer.separatorToken
        var windows: [(document: Int, chunkCount: Int, tokens: [Int32])] = []
        var truncatedChunks = 0
        var splitDocuments = 0
        for (document, chunks) in documents.enumerated() {
            var pieces = chunks.map { chunk in tokenizer.encode(chunk).filter { $0 != separator } }
            for index in pieces.indices where pieces[index].count > bodyCapacity {
                pieces[index] = Array(pieces[index].prefix(bodyCapacity))
                truncatedChunks += 1
            }
            let windowsBefore = windows.count
            var current: [[Int32]] = []
            var currentLength = 0
            for piece in pieces {
                let added = piece.count + (current.isEmpty ? 0 : 1)
                if !current.isEmpty && currentLength + added > bodyCapacity {
                    windows.append((document, current.count, framed(joining: current)))
                    current = []
                    currentLength = 0
                }
                currentLength += piece.count + (current.isEmpty ? 0 : 1)
                current.append(piece)
            }
            if !current.isEmpty {
                windows.append((document, current.count, framed(joining: current)))
            }
            if windows.count - windowsBefore > 1 { splitDocuments += 1 }
        }
        if splitDocuments > 0 {
            warn(
                "\(splitDocuments) document(s) longer than \(maxTokens) tokens were split into several context windows at chunk boundaries"
            )
        }
        if truncatedChunks > 0 {
            warn("\(truncatedChunks) chunk(s) too long for one \(maxTokens)-token window were truncated")
        }

        var results = documents.map { _ in [[Float]]() }
        var windowChunks = [[[Float]]](repeating: [], count: windows.count)
        try encodeInBatches(windows.map(\.tokens), progress: progress) { index, states, length in
            let tokens = windows[index].tokens
            windowChunks[index] = Pooling.lateChunks(
                tokens: tokens[0..<length], states: states, width: dimension, separator: separator
            ).prefix(windows[index].chunkCount).map(finish)
        }
        for (index, window) in windows.enumerated() { results[window.document] += windowChunks[index] }
        return results
    }

    // MARK: - Internals

    /// Room for text tokens in one sequence once the prefix and suffix are added.
    private var bodyCapacity: Int { maxTokens - tokenizer.prefixTokens.count - tokenizer.suffixTokens.count }

    private func framedTruncating(_ tokens: [Int32]) -> [Int32] {
        tokenizer.prefixTokens + tokens.prefix(bodyCapacity) + tokenizer.suffixTokens
    }

    private func framed(joining chunks: [[Int32]]) -> [Int32] {
        var body: [Int32] = []
        for (index, chunk) in chunks.enumerated() {
            if index > 0 { body.append(tokenizer.separatorToken) }
            body += chunk
        }
        return tokenizer.prefixTokens + body + tokenizer.suffixTokens
    }

    private func reportTruncation(lengths: [Int]) {
        let long = lengths.filter { $0 > bodyCapacity }
        guard let longest = long.max() else { return }
        warn(
            "\(long.count) input(s) longer than \(maxTokens) tokens (longest \(longest + maxTokens - bodyCapacity)) were truncated to \(maxTokens); use embedWindows or late chunking to cover long documents"
        )
    }

    private func finish(_ vector: [Float]) -> [Float] {
        normalizes ? Pooling.l2Normalized(vector) : vector
    }

    /// Encodes `sequences` longest first in packed batches and hands each sequence's hidden
    /// states (`length` rows) to `body` with its input index. The batches come in rounds of one
    /// per encoder thread, encoded concurrently (see `batchRanges`).
    private func encodeInBatches(
        _ sequences: [[Int32]], progress: ((EmbeddingProgress) -> Void)?,
        body: (_ index: Int, _ states: UnsafePointer<Float>, _ length: Int) -> Void
    ) throws {
        let order = sequences.indices.sorted { sequences[$0].count > sequences[$1].count }
        let batches = Self.batchRanges(
            lengths: order.map { sequences[$0].count }, limit: tokensPerBatch, threads: encoderThreads)
        var sequencesDone = 0
        var tokensDone = 0
        for roundStart in stride(from: 0, to: batches.count, by: encoderThreads) {
            let round = batches[roundStart..<min(roundStart + encoderThreads, batches.count)]
            let packed = try round.map { range in try encoder.pack(order[range].map { sequences[$0] }) }
            let states = encoder.forward(packed)
            for (range, (batch, batchStates)) in zip(round, zip(packed, states)) {
                withExtendedLifetime(batchStates) {
                    for (position, index) in order[range].enumerated() {
                        let rows = batch.range(of: position)
                        body(index, batchStates.row(rows.lowerBound), rows.count)
                    }
                }
                sequencesDone += range.count
                tokensDone += batch.tokenCount
                progress?(
                    EmbeddingProgress(sequencesDone: sequencesDone, sequenceCount: order.count, tokensDone: tokensDone))
            }
        }
    }

    /// Consecutive runs of `lengths` (sorted longest first) forming the batches for `threads`
    /// threads. Each batch holds at most `limit / threads` tokens (at least 1,024; a longer
    /// sequence gets a batch alone), so that a round of concurrent batches needs about the memory
    /// of one batch of `limit`; there are as few batches as that allows, rounded up to a multiple
    /// of `threads`, cut where the running token count passes each even share of the total so
    /// that the batches of a round keep their threads equally busy.
    static func batchRanges(lengths: [Int], limit: Int, threads: Int) -> [Range<Int>] {
        let perBatch = threads > 1 ? max(1024, limit / threads) : limit
        let total = lengths.reduce(0, +)
        let perRound = perBatch * threads
        let batchCount = max(1, (total + perRound - 1) / perRound * threads)
        var ranges: [Range<Int>] = []
        var start = 0
        var tokensBefore = 0
        var batchTokens = 0
        for (index, length) in lengths.enumerated() {
            let share = total * (ranges.count + 1) / batchCount
            if index > start && (batchTokens + length > perBatch || tokensBefore >= share) {
                ranges.append(start..<index)
                start = index
                batchTokens = 0
            }
            batchTokens += length
            tokensBefore += length
        }
        if start < lengths.count { ranges.append(start..<lengths.count) }
        return ranges
    }
}

/// Writes a warning line to stderr.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("quarry: warning: \(message)\n".utf8))
}
