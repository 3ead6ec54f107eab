import Foundation
import QuarryEmbed
import QuarryIndex
import QuarryStore

/// Splits text into windows of about `tokensPerChunk` tokens that overlap by about `overlap`
/// tokens, cut at whitespace so every chunk is a run of whole words of the original text.
public struct Chunker: Sendable {
    public var tokensPerChunk: Int
    public var overlap: Int

    public init(tokensPerChunk: Int, overlap: Int) {
        self.tokensPerChunk = max(1, tokensPerChunk)
        self.overlap = min(max(0, overlap), self.tokensPerChunk - 1)
    }

    /// Words longer than this many bytes are cut (at a character boundary) into pieces this long,
    /// so a run of text without spaces still chunks, and tokenizing it stays linear.
    public static let maxWordBytes = 256

    /// The chunks of `text` as UTF-8 byte ranges; `tokenCount` gives the tokens of one word.
    /// Text without words gives no chunks.
    public func chunks(of text: String, tokenCount: (Substring) -> Int) -> [Range<Int>] {
        var words: [(range: Range<Int>, tokens: Int)] = []
        var utf8 = text.utf8.startIndex
        var offset = 0
        var wordStart: (index: String.Index, offset: Int)?
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        while utf8 < text.utf8.endIndex {
            let byte = text.utf8[utf8]
            if isSpace(byte) {
                if let start = wordStart {
                    words.append((start.offset..<offset, max(1, tokenCount(text[start.index..<utf8]))))
                    wordStart = nil
                }
            } else if let start = wordStart, offset - start.offset >= Self.maxWordBytes, byte & 0xC0 != 0x80 {
                words.append((start.offset..<offset, max(1, tokenCount(text[start.index..<utf8]))))
                wordStart = (utf8, offset)
            } else if wordStart == nil {
                wordStart = (utf8, offset)
            }
            utf8 = text.utf8.index(after: utf8)
            offset += 1
        }
        if let start = wordStart {
            words.append((start.offset..<offset, max(1, tokenCount(text[start.index...]))))
        }
        var chunks: [Range<Int>] = []
        var first = 0
        while first < words.count {
            var end = first
            var tokens = 0
            while end < words.count && (end == first || tokens + words[end].tokens <= tokensPerChunk) {
                tokens += words[end].tokens
                end += 1
            }
            chunks.append(words[first].range.lowerBound..<words[end - 1].range.upperBound)
            guard end < words.count else { break }
            // Step back over at most `overlap` tokens, always moving forward.
            var next = end
            var shared = 0
            while next - 1 > first && shared + words[next - 1].tokens <= overlap {
                shared += words[next - 1].tokens
                next -= 1
            }
            first = next
        }
        return chunks
    }
}

/// A document as stored (zstd-compressed JSON in the `docs` database).
public struct StoredDocument: Sendable, Codable, Equatable {
    public var key: String
    public var title: String?
    public var url: String?
    public var lang: String?
    public var metadata: JSONValue?
    public var text: String
    /// The chunks as UTF-8 byte ranges [start, end) of `text`, in order.
    public var chunks: [[Int]]
    /// A digest of the record and the chunking and model settings: an ingest skips a document
    /// whose stored fingerprint matches.
    public var fingerprint: String

    /// The text of chunk `index` (in time proportional to the chunk, not the document).
    public func chunkText(_ index: Int) -> String {
        guard chunks.indices.contains(index), chunks[index].count == 2 else { return "" }
        let utf8 = text.utf8
        let start = min(max(0, chunks[index][0]), utf8.count)
        let end = min(max(start, chunks[index][1]), utf8.count)
        let from = utf8.index(utf8.startIndex, offsetBy: start)
        return String(decoding: utf8[from..<utf8.index(from, offsetBy: end - start)], as: UTF8.self)
    }
}

/// A search hit resolved to its document.
public struct DocumentHit: Sendable, Codable, Equatable {
    /// The document's key (for a collection of bare vectors: the vector's key).
    public var key: String
    /// The chunk that matched (nil for bare vectors).
    public var chunk: Int?
    public var score: Float
    public var title: String?
    public var url: String?
    /// The start of the matching chunk.
    public var snippet: String?
    public var text: String?
    public var metadata: JSONValue?
}

extension DocumentHit {
    /// The bytes of the stored fields the hit carries (text, title, url, snippet, metadata as
    /// JSON), which bound the size of a search's answer.
    var storedFieldBytes: Int {
        let metadataBytes = metadata.map { (try? JSONEncoder().encode($0).count) ?? 0 } ?? 0
        return (text?.utf8.count ?? 0) + (title?.utf8.count ?? 0) + (url?.utf8.count ?? 0)
            + (snippet?.utf8.count ?? 0) + metadataBytes
    }
}

/// Which stored fields a document search resolves for its hits.
public enum DocumentFields: Sendable {
    /// Keys and scores only (no record is read).
    case none
    /// Title, url and a snippet of the matching chunk.
    case summary
    /// Also the whole text and the metadata.
    case full
}

/// Settings of a document ingest.
public struct DocumentIngestOptions: Sendable {
    /// Tokens per chunk (nil: the model's window, at most 256).
    public var tokensPerChunk: Int?
    /// Tokens shared by consecutive chunks.
    public var overlap = 32
    /// Embed a document's chunks together by late chunking (nil: when the model directory's
    /// name says "context", as pplx-embed-context-v1's does).
    public var lateChunking: Bool?
    /// Documents per write transaction.
    public var batchSize = 512
    /// Documents in the first batch of a collection that has no coarse quantizer yet: it is
    /// trained on their chunks, and the list count follows from their number, so a larger
    /// first batch gives a better-sized index (a small input is trained on whole).
    public var trainingBatchSize = 4096
    /// Settings for training the coarse quantizer on the first batch.
    public var vectorOptions = IngestOptions()
    /// Receives the running figures as chunks are embedded and batches committed.
    public var embeddingProgress: (@Sendable (DocumentIngestProgress) -> Void)?
    public init() {}
}

/// How far a document ingest has come, reported while it embeds.
public struct DocumentIngestProgress: Sendable {
    /// Documents read and done (committed, or unchanged and skipped), counting the embedded
    /// share of the batch in hand.
    public var documents: Double
    /// Tokens embedded so far.
    public var tokens: Int
}

/// What a document ingest did.
public struct DocumentIngestReport: Sendable, Codable {
    public var documents = 0
    public var added = 0
    public var replaced = 0
    public var unchanged = 0
    public var chunks = 0
    public var tokens = 0
    public var embedSeconds = 0.0
    public var indexSeconds = 0.0
    public var readSeconds = 0.0
}

extension QuarryCollection {
    /// The character that joins a document key and a chunk number into a vector key.
    static let chunkSeparator: Character = "\u{1F}"
    /// The longest document key: room is left for the chunk number.
    public static let maxDocumentKeyBytes = 480

    static func chunkKey(_ document: String, _ chunk: Int) -> [UInt8] {
        Array(document.utf8) + [0x1F] + Array(String(chunk).utf8)
    }

    /// Splits a vector key into its document key and chunk number (nil for bare vectors).
    static func splitChunkKey(_ key: String) -> (document: String, chunk: Int?) {
        guard let separator = key.lastIndex(of: chunkSeparator),
            let chunk = Int(key[key.index(after: separator)...])
        else { return (key, nil) }
        return (String(key[..<separator]), chunk)
    }

    /// Embeds and indexes crawl records read from `reader`, in batches of
    /// `options.batchSize` documents, each one write transaction. A document whose key is
    /// stored already is replaced (its old chunks removed) unless it is unchanged, in which
    /// case it is skipped without embedding: re-running an interrupted ingest resumes where
    /// the last committed batch ended. Records are validated batch by batch; a bad record stops
    /// the ingest with an error naming it, leaving earlier batches committed.
    @discardableResult
    public func ingestDocuments(
        from reader: CrawlRecordReader, embedder: any TextEmbedding, modelPath: String,
        options: DocumentIngestOptions = .init()
    ) throws -> DocumentIngestReport {
        try ingestDocuments(
            source: reader.path, next: reader.next, embedder: embedder, modelPath: modelPath, options: options)
    }

    /// Embeds and indexes in-memory crawl records (e.g. a request body), as `ingestDocuments(from:)`.
    @discardableResult
    public func ingestDocuments(
        _ records: [CrawlRecord], embedder: any TextEmbedding, modelPath: String,
        options: DocumentIngestOptions = .init()
    ) throws -> DocumentIngestReport {
        var iterator = records.makeIterator()
        return try ingestDocuments(
            source: "the request", next: { iterator.next() }, embedder: embedder, modelPath: modelPath,
            options: options)
    }

    private func ingestDocuments(
        source: String, next: () throws -> CrawlRecord?, embedder: any TextEmbedding, modelPath: String,
        options: DocumentIngestOptions
    ) throws -> DocumentIngestReport {
        try options.validate()
        writerLock.lock()
        defer { writerLock.unlock() }
        var manifest = try refreshedState().manifest
        guard embedder.dimension >= manifest.dimension else {
            throw QuarryError.dimensionMismatch(
                expected: manifest.dimension, found: embedder.dimension, source: "the model at \(modelPath)")
        }
        if let recorded = manifest.model, recorded != modelPath {
            throw QuarryError.modelMismatch(
                "the collection was built with the model at \(recorded); mixing models would mix vector spaces")
        }
        let lateChunking = options.lateChunking ?? modelPath.lowercased().contains("context")
        // The window holds the tokenizer's special tokens too ([CLS] and [SEP] for BERT).
        let specialTokens = embedder.tokenizer.prefixTokens.count + embedder.tokenizer.suffixTokens.count
        let tokensPerChunk =
            min(options.tokensPerChunk ?? min(256, embedder.maxTokens), embedder.maxTokens) - specialTokens
        let chunker = Chunker(tokensPerChunk: tokensPerChunk, overlap: options.overlap)
        let settings = "\(modelPath)|\(manifest.dimension)|\(chunker.tokensPerChunk)|\(chunker.overlap)|\(lateChunking)"
        var report = DocumentIngestReport()
        let clock = ContinuousClock()
        let progress = options.vectorOptions.progress
        var reading = true
        while reading {
            let readStarted = clock.now
            var batch: [CrawlRecord] = []
            var positions: [String: Int] = [:]
            let wanted = manifest.listCount == 0 ? max(options.batchSize, options.trainingBatchSize) : options.batchSize
            while batch.count < wanted {
                guard let record = try next() else {
                    reading = false
                    break
                }
                try Self.validate(record: record, source: source)
                // A key repeated within a batch: the later record wins.
                if let earlier = positions[record.key] {
                    batch[earlier] = record
                } else {
                    positions[record.key] = batch.count
                    batch.append(record)
                }
            }
            report.readSeconds += (clock.now - readStarted).seconds
            guard !batch.isEmpty else { break }
            report.documents += batch.count

            // Skip unchanged documents before spending time embedding them.
            let fingerprints = batch.map { Self.fingerprint($0, settings: settings) }
            let storedFingerprints: [String?] = try environment.read { txn in
                try batch.map { record in try storedDocument(txn, key: record.key)?.fingerprint }
            }
            var changed: [(record: CrawlRecord, document: StoredDocument)] = []
            for (index, record) in batch.enumerated() {
                if storedFingerprints[index] == fingerprints[index] {
                    report.unchanged += 1
                    continue
                }
                // Each chunk is embedded after the title (with late chunking only the first, but
                // the budget is kept uniform), so the title's tokens come out of every window.
                let titleTokens = record.title.map { embedder.tokenizer.encode($0 + "\n").count } ?? 0
                let fitted = Chunker(
                    tokensPerChunk: max(chunker.tokensPerChunk / 2, chunker.tokensPerChunk - titleTokens),
                    overlap: chunker.overlap)
                let chunks = fitted.chunks(of: record.text) { embedder.tokenizer.encode(String($0)).count }
                changed.append(
                    (
                        record,
                        StoredDocument(
                            key: record.key, title: record.title, url: record.url, lang: record.lang,
                            metadata: record.metadata, text: record.text,
                            chunks: chunks.map { [$0.lowerBound, $0.upperBound] },
                            fingerprint: fingerprints[index])
                    ))
            }
            guard !changed.isEmpty else { continue }

            let embedStarted = clock.now
            let documentsBefore = Double(report.documents - changed.count)
            let tokensBefore = report.tokens
            let vectors = try embedChunks(changed.map(\.document), embedder: embedder, lateChunking: lateChunking) {
                step in
                options.embeddingProgress?(
                    DocumentIngestProgress(
                        documents: documentsBefore + Double(changed.count) * Double(step.sequencesDone)
                            / Double(max(1, step.sequenceCount)), tokens: tokensBefore + step.tokensDone))
            }
            report.embedSeconds += (clock.now - embedStarted).seconds
            report.tokens += vectors.tokens

            let indexStarted = clock.now
            let dimension = manifest.dimension
            let rows = vectors.values.count / embedder.dimension
            var floats = [Float](repeating: 0, count: rows * dimension)
            for row in 0..<rows {
                for d in 0..<dimension { floats[row * dimension + d] = vectors.values[row * embedder.dimension + d] }
            }
            if let row = (0..<rows).first(where: { r in
                !floats[r * dimension..<(r + 1) * dimension].allSatisfy(\.isFinite)
            }) {
                throw QuarryError.invalidRecord(
                    source: source, reason: "the model produced a non-finite value for chunk \(row) of this batch")
            }
            // The committed state: another process may have trained or quantized it meanwhile.
            var state = try refreshedState()
            // pplx-embed's models are trained for tanh-INT8; other models' normalised vectors
            // need a scale measured on their own values. (Documents without words have no
            // chunks: a batch of only those quantizes and trains nothing yet.)
            var quantization =
                state.manifest.quantization
                ?? (rows == 0
                    ? nil
                    : embedder.architecture == .qwen3 ? .tanh : Int8Quantization.calibrate(floats: floats))
            var values = quantization.map { Self.quantize(floats, with: $0) } ?? []
            if state.manifest.listCount == 0, rows > 0, let chosen = quantization {
                let lists = min(
                    rows,
                    state.manifest.requestedListCount ?? CollectionManifest.defaultListCount(forVectorCount: rows))
                progress?("train: \(lists) lists on the first batch's \(rows) chunks")
                state = try train(
                    sample: values.map(Float.init), count: rows, lists: lists, quantization: chosen,
                    dimension: dimension, options: options.vectorOptions)
                if let committed = state.manifest.quantization, committed != chosen {
                    quantization = committed
                    values = Self.quantize(floats, with: committed)
                }
            }
            let trained = state.manifest
            var assignment = ListAssignment()
            var codes: [UInt8] = []
            if rows > 0 {
                var scratch: [Float] = []
                assignAndEncode(
                    values, rows: rows, kmeans: KMeans(clusterCount: trained.listCount, dimension: dimension),
                    centroids: state.centroids, floats: &scratch, assignment: &assignment, codes: &codes)
            }
            let chunkKeys = changed.flatMap { entry in
                entry.document.chunks.indices.map { Self.chunkKey(entry.document.key, $0) }
            }
            let settled = quantization
            let outcome = try environment.write { txn in
                // Only the fields this ingest sets, on the manifest as committed.
                try updateManifest(txn) { manifest in
                    // The vectors were assigned and quantized for the state read above.
                    guard
                        rows == 0
                            || (Self.sameTraining(manifest, trained) && manifest.quantization ?? settled == settled)
                    else {
                        throw QuarryError.conflict(
                            "another process changed \(path)'s coarse quantizer or quantization during this ingest; run it again"
                        )
                    }
                    if let recorded = manifest.model, recorded != modelPath {
                        throw QuarryError.modelMismatch(
                            "the collection was built with the model at \(recorded); mixing models would mix vector spaces"
                        )
                    }
                    if rows > 0 { manifest.quantization = settled }
                    manifest.model = modelPath
                }
                var replaced = 0
                for (_, document) in changed {
                    if let old = try storedDocument(txn, key: document.key) {
                        replaced += 1
                        // Chunks beyond the new count would otherwise linger.
                        for chunk in document.chunks.count..<max(document.chunks.count, old.chunks.count) {
                            try removeKeyedVector(txn, key: Self.chunkKey(document.key, chunk))
                        }
                    }
                    let encoded = try Zstd.compress(try JSONEncoder().encode(document).bytes)
                    try txn.put(databases.docs, key: Array(document.key.utf8), value: encoded)
                }
                _ = try writeBatch(
                    txn, rows: rows, keyAt: { chunkKeys[$0] }, values: values, codes: codes, assignment: assignment,
                    blockCapacity: trained.blockCapacity)
                return replaced
            }
            manifest = try refreshedState().manifest
            report.replaced += outcome
            report.added += changed.count - outcome
            report.chunks += rows
            report.indexSeconds += (clock.now - indexStarted).seconds
            progress?(
                "ingest: \(report.documents) documents (\(report.added) added, \(report.replaced) replaced, \(report.unchanged) unchanged), \(report.chunks) chunks"
            )
        }
        return report
    }

    /// `floats` quantized to INT8 with `quantization`.
    private static func quantize(_ floats: [Float], with quantization: Int8Quantization) -> [Int8] {
        var values = [Int8](repeating: 0, count: floats.count)
        floats.withUnsafeBufferPointer { f in
            values.withUnsafeMutableBufferPointer { v in
                quantization.quantize(f.baseAddress!, count: f.count, into: v.baseAddress!)
            }
        }
        return values
    }

    private static func validate(record: CrawlRecord, source: String) throws {
        let size = record.key.utf8.count
        guard size <= maxDocumentKeyBytes else {
            throw QuarryError.invalidRecord(
                source: source,
                reason: "key '\(record.key.prefix(40))...' is \(size) bytes; at most \(maxDocumentKeyBytes)")
        }
        guard !record.key.contains(chunkSeparator) else {
            throw QuarryError.invalidRecord(
                source: source, reason: "key '\(record.key)' holds a control character U+001F")
        }
    }

    /// A 64-bit FNV-1a digest of the record and the settings that shape its vectors.
    static func fingerprint(_ record: CrawlRecord, settings: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in ((try? encoder.encode(record)) ?? Data()) + Data(settings.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return String(hash, radix: 16)
    }

    /// One float vector per chunk of every document, in order.
    private func embedChunks(
        _ documents: [StoredDocument], embedder: any TextEmbedding, lateChunking: Bool,
        progress: @escaping (EmbeddingProgress) -> Void
    ) throws -> (values: [Float], tokens: Int) {
        var tokens = 0
        let counter: (EmbeddingProgress) -> Void = { step in
            tokens = step.tokensDone
            progress(step)
        }
        let vectors: [[Float]]
        if lateChunking {
            let chunkTexts = documents.map { document in
                document.chunks.indices.map { index in
                    index == 0 && document.title != nil
                        ? document.title! + "\n" + document.chunkText(index) : document.chunkText(index)
                }
            }
            vectors = try embedder.embedContextual(chunkTexts, progress: counter).flatMap { $0 }
        } else {
            let texts = documents.flatMap { document in
                document.chunks.indices.map { index in
                    document.title.map { $0 + "\n" + document.chunkText(index) } ?? document.chunkText(index)
                }
            }
            vectors = try embedder.embed(texts, progress: counter)
        }
        return (vectors.flatMap { $0 }, tokens)
    }

    func storedDocument(_ txn: LMDBReadTransaction, key: String) throws -> StoredDocument? {
        // No document can have a longer key; asking LMDB would fail.
        guard !key.isEmpty, key.utf8.count <= Self.maxKeyBytes else { return nil }
        guard let bytes = try txn.get(databases.docs, key: Array(key.utf8)) else { return nil }
        do {
            return try StoredDocument.decodeStored(bytes, key: key, path: path)
        } catch let error as QuarryError {
            throw error
        } catch {
            throw QuarryError.corrupt(
                path: path, reason: "the record of document '\(QuarryError.abbreviated(key))' does not decode: \(error)"
            )
        }
    }

    /// Removes the vector stored under `key` and the key itself; false when there is none.
    @discardableResult
    func removeKeyedVector(_ txn: LMDBWriteTransaction, key: [UInt8]) throws -> Bool {
        guard !key.isEmpty, key.count <= Self.maxKeyBytes else { return false }
        guard let id = try txn.get(databases.keys, key: key).map({ try BigEndian.readU64(from: $0, at: 0) }) else {
            return false
        }
        try removeVector(txn, id: id)
        try txn.delete(databases.keys, key: key)
        return true
    }

    /// The stored document with `key`, or nil.
    public func document(key: String) throws -> StoredDocument? {
        try environment.read { txn in try storedDocument(txn, key: key) }
    }

    /// The number of stored documents.
    public func documentCount() throws -> Int { try environment.entryCount(databases.docs) }

    /// Deletes documents (their records and every chunk vector) or bare vectors by key, in one
    /// transaction. Returns the keys that matched nothing.
    @discardableResult
    public func delete(keys: [String]) throws -> [String] {
        writerLock.lock()
        defer { writerLock.unlock() }
        return try environment.write { txn in
            var missing: [String] = []
            for key in keys {
                if let document = try storedDocument(txn, key: key) {
                    for chunk in document.chunks.indices {
                        try removeKeyedVector(txn, key: Self.chunkKey(key, chunk))
                    }
                    try txn.delete(databases.docs, key: Array(key.utf8))
                } else if try !removeKeyedVector(txn, key: Array(key.utf8)) {
                    missing.append(key)
                }
            }
            return missing
        }
    }

    /// Searches and resolves hits to documents. With `byDocument`, chunk hits are folded to the
    /// best chunk per document and `k` documents are returned. The stored fields of the hits may
    /// add up to `maxResultBytes` (text and metadata counted as stored); beyond that the search
    /// fails with `limitExceeded` rather than build an unbounded answer.
    public func searchDocuments(
        _ query: PreparedQuery, k: Int, nprobe: Int? = nil, oversample: Double? = nil, byDocument: Bool = false,
        fields: DocumentFields = .summary, excluding excludedKey: String? = nil, exact: Bool = false,
        maxResultBytes: Int = 64 << 20
    ) throws -> [DocumentHit] {
        try Limits.check(k, in: 1...Limits.maxK, "k")
        let extra = excludedKey == nil ? 0 : 1
        var fetch = min(byDocument ? (k + extra) * 4 : k + extra, Limits.maxK)
        // Each document's record is decoded once, however many of its chunks hit.
        var decoded: [String: StoredDocument?] = [:]
        while true {
            let hits =
                exact
                ? try exactSearch(query, k: fetch) : try search(query, k: fetch, nprobe: nprobe, oversample: oversample)
            var results: [DocumentHit] = []
            var seen = Set<String>()
            var fieldBytes = 0
            try environment.read { txn in
                for hit in hits {
                    let (key, chunk) = Self.splitChunkKey(hit.key)
                    if key == excludedKey { continue }
                    if byDocument && !seen.insert(key).inserted { continue }
                    var result = DocumentHit(key: key, chunk: chunk, score: hit.score)
                    if let chunk, fields != .none {
                        if decoded[key] == nil { decoded[key] = .some(try storedDocument(txn, key: key)) }
                        if let document = decoded[key] ?? nil {
                            result.title = document.title
                            result.url = document.url
                            result.snippet = String(document.chunkText(chunk).prefix(240))
                            if fields == .full {
                                result.text = document.text
                                result.metadata = document.metadata
                            }
                            fieldBytes += result.storedFieldBytes
                            guard fieldBytes <= maxResultBytes else {
                                throw QuarryError.limitExceeded(
                                    "the \(results.count + 1) hits' stored fields exceed \(maxResultBytes) bytes; "
                                        + "ask for fewer hits or fewer fields")
                            }
                        }
                    }
                    results.append(result)
                    if results.count == k { break }
                }
            }
            // Folding may leave fewer than k documents: fetch more chunks while there are more.
            if results.count >= k || hits.count < fetch || !byDocument || fetch == Limits.maxK { return results }
            fetch = min(fetch * 4, Limits.maxK)
        }
    }

    /// The query that stands for a stored document or vector: the mean of its chunk vectors.
    public func storedQuery(key: String) throws -> PreparedQuery {
        let dimension = manifest.dimension
        return try environment.read { txn in
            var vectorKeys: [[UInt8]] = []
            if let document = try storedDocument(txn, key: key) {
                vectorKeys = document.chunks.indices.map { Self.chunkKey(key, $0) }
            } else {
                vectorKeys = [Array(key.utf8)]
            }
            var sum = [Int32](repeating: 0, count: dimension)
            var found = 0
            let records = VectorRecords(txn: txn, database: databases.vectors, dimension: dimension)
            for vectorKey in vectorKeys where !vectorKey.isEmpty && vectorKey.count <= Self.maxKeyBytes {
                guard
                    let id = try txn.get(databases.keys, key: vectorKey).map({ try BigEndian.readU64(from: $0, at: 0) }
                    ),
                    let stored = try records.vector(id: id)
                else { continue }
                for d in 0..<dimension { sum[d] += Int32(stored.values[d]) }
                found += 1
            }
            guard found > 0 else { throw QuarryError.documentNotFound(key: key) }
            return PreparedQuery(
                int8: sum.map { Int8(clamping: Int32((Double($0) / Double(found)).rounded())) })
        }
    }
}

extension QuarryCollection {
    /// Embeds a text query with `embedder` (truncated to the collection's dimensions, as
    /// Matryoshka models allow) and prepares it like the collection's vectors.
    public func prepare(text: String, embedder: any TextEmbedding) throws -> PreparedQuery {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw QuarryError.invalidArgument("the query text is empty")
        }
        let dimension = manifest.dimension
        guard embedder.dimension >= dimension else {
            throw QuarryError.dimensionMismatch(expected: dimension, found: embedder.dimension, source: "the model")
        }
        return try prepare(query: Array(try embedder.embed([text])[0].prefix(dimension)))
    }

    /// The model directory recorded at the first document ingest, or `override`.
    public func modelPath(override: String? = nil) throws -> String {
        guard let path = override ?? manifest.model else {
            throw QuarryError.invalidArgument(
                "\(self.path) records no model (it was not built from documents); name the model directory")
        }
        return path
    }
}

extension QuarryCollection {
    /// Rewrites the collection at `path` as a compacted copy (LMDB's free pages dropped) and
    /// swaps it in; returns the file sizes before and after. Refused (`StoreError.locked`)
    /// while another process has the collection open, and while it is open in this one; opens
    /// elsewhere are refused until it ends. The copy is flushed to disk before the swap and the
    /// directory after it. A failure before the swap leaves the original untouched.
    public static func compact(at path: String) throws -> (before: Int, after: Int) {
        guard !registry.isOpen(path) else {
            throw QuarryError.invalidArgument("\(path) is open in this process; close it before compacting")
        }
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw QuarryError.collectionNotFound(path: path)
        }
        let exclusive = try DirectoryLock(directory: path, mode: .exclusive)
        let staging = path + "/compact.tmp"
        let files = FileManager.default
        try? files.removeItem(atPath: staging)
        let before: Int
        do {
            let collection = try openUnshared(at: path, directoryLock: exclusive)
            before = try collection.environment.sizeOnDisk()
            try collection.environment.copyCompacted(to: staging)
        }
        // The original is closed here; the rename is atomic on one file system.
        guard rename(staging + "/data.mdb", path + "/data.mdb") == 0 else {
            let reason = String(cString: strerror(errno))
            try? files.removeItem(atPath: staging)
            throw QuarryError.invalidArgument("could not swap in the compacted copy: \(reason)")
        }
        try LMDBEnvironment.flushToDisk(path)
        try? files.removeItem(atPath: staging)
        withExtendedLifetime(exclusive) {}
        let after = (try? files.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0
        return (before, after)
    }
}
