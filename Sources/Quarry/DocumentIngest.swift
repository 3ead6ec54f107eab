import Foundation
import QuarryEmbed
import QuarryIndex
import QuarrySchema
import QuarryStore

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
    /// When the documents count as ingested (their `ingested` field), in seconds since 1970;
    /// nil: the time each batch is read.
    public var ingestTime: Double?
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
            let ingestTime = options.ingestTime ?? Date().timeIntervalSince1970.rounded(.down)
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
                            fingerprint: fingerprints[index], ingested: ingestTime)
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
                entry.document.chunks.indices.map { TextKey.chunk(document: entry.document.key, chunk: $0) }
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
                return try withAttributeChanges(txn) { attributes in
                    try indexAttributesIfMissing(txn, attributes)
                    var catalogue = AttributeCatalogue(try committedManifest(txn))
                    var rowEntries: [[AttributeRecord.Entry]] = []
                    rowEntries.reserveCapacity(rows)
                    var replaced = 0
                    for (_, document) in changed {
                        if let old = try storedDocument(txn, key: document.key) {
                            replaced += 1
                            // Chunks beyond the new count would otherwise linger.
                            for chunk in document.chunks.count..<max(document.chunks.count, old.chunks.count) {
                                try removeKeyedVector(
                                    txn, key: TextKey.chunk(document: document.key, chunk: chunk),
                                    attributes: attributes)
                            }
                        }
                        try txn.put(
                            databases.docs, key: TextKey.encode(document.key), value: try document.encodeStored())
                        let entries = catalogue.entries(of: document)
                        rowEntries += repeatElement(entries, count: document.chunks.count)
                    }
                    try updateManifest(txn) { $0.fields = catalogue.fields }
                    _ = try writeBatch(
                        txn, rows: rows, keyAt: { chunkKeys[$0] }, values: values, codes: codes,
                        assignment: assignment, blockCapacity: trained.blockCapacity, attributes: attributes,
                        entriesAt: { rowEntries[$0] })
                    return replaced
                }
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
}
