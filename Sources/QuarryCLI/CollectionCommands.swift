import ArgumentParser
import Foundation
import Quarry

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an empty collection (one LMDB environment) in DIR.")

    @Argument(help: "The collection directory (must not exist or be empty).") var directory: String
    @Option(help: "Vector dimension.") var dims: Int
    @Option(help: "Posting lists of the coarse quantizer (default: about 4·√n at the first ingest).")
    var nlist: Int?
    @Flag(help: "Keep each vector in a second posting list too (SOAR-style redundant assignment).")
    var spill = false
    @Option(help: "With --spill: the penalty on second lists whose residual parallels the first's.")
    var spillPenalty: Double = 1
    @Option(
        name: .customLong("field"),
        help:
            "A metadata field to index for filters, NAME:KIND with KIND keyword, number or date (metadata.year:number); repeatable. None: every metadata field is indexed on first sight."
    )
    var fields: [AttributeField] = []

    func run() throws {
        try reportingErrors {
            _ = try QuarryCollection.create(
                at: directory, dimension: dims, listCount: nlist, spillPenalty: spill ? spillPenalty : nil,
                fields: fields)
            printError("created \(directory) (\(dims) dimensions)")
        }
    }
}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Add vectors or documents to a collection (upsert by key), training its index on first use.",
        discussion: """
            With --vectors: precomputed embeddings. With --docs: crawl records (JSON lines with "id" or             "url", "text", optional "title", "url", "lang", "metadata"; or Common Crawl WET), plain, gzip             or zstd; each document is chunked, embedded with --model, quantized and indexed, and its             record stored zstd-compressed. A collection that does not exist yet is created with the             model's dimensions.
            """)

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "Vectors: .npy (float32, float16, int8; [n, dims], C order), .fvecs or .bvecs.")
    var vectors: String?
    @Option(help: "A text file with one external key per vector (default: the row numbers).")
    var keys: String?
    @Option(
        help:
            "With --vectors: JSON lines of each vector's fields for filters, {\"lang\", \"url\", \"metadata\"}, in row order."
    )
    var attributes: String?
    @Option(help: "Quantization of float input: tanh (pplx-embed) or calibrated.")
    var quantize: String?
    @Option(help: "Crawl records: JSONL or WET, plain, .gz or .zst.") var docs: String?
    @Option(help: "The embedding model directory (config.json, tokenizer, *.safetensors).") var model: String?
    @OptionGroup var remote: RemoteEmbedderOptions
    @OptionGroup var encoder: LocalEncoderOptions
    @Option(help: "With --embedder: the model directory or tokenizer.json whose tokenizer sizes the chunks.")
    var tokenizer: String?
    @Option(help: "Tokens per chunk (default: the model's window, at most 256).") var chunkTokens: Int?
    @Option(help: "Tokens shared by consecutive chunks.") var overlap: Int = 32
    @Option(help: "Late chunking: embed a document's chunks together (default: for models named *context*).")
    var lateChunking: Bool?
    @Option(help: "Vectors (or with --docs, documents) per write transaction.") var batchSize: Int?
    @Option(help: "With --docs: documents in the first batch, whose chunks train a new collection's index.")
    var trainingDocuments: Int?
    @Flag(help: "Print the ingest report as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard (vectors == nil) != (docs == nil) else {
                throw ValidationError("give exactly one of --vectors FILE or --docs FILE")
            }
            if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
            var options = IngestOptions()
            options.progress = { printError($0) }
            if let quantize {
                guard let choice = QuantizationChoice(rawValue: quantize) else {
                    throw ValidationError("--quantize must be tanh or calibrated, not '\(quantize)'")
                }
                options.quantization = choice
            }
            if let docs {
                try ingestDocuments(docs, options: options)
                return
            }
            if let batchSize { options.batchSize = batchSize }
            let collection = try QuarryCollection.open(at: directory)
            let file = try VectorFile(path: vectors!)
            let keyList = try keys.map(readLines)
            let fields = try attributes.map(VectorAttributes.read)
            let report = try collection.ingest(vectors: file, keys: keyList, attributes: fields, options: options)
            if json {
                print(jsonLine(report))
            } else {
                printError(
                    "added \(report.added), replaced \(report.replaced), unchanged \(report.unchanged); "
                        + String(
                            format: "train %.1fs, assign %.1fs, write %.1fs", report.trainSeconds,
                            report.assignSeconds, report.writeSeconds))
            }
        }
    }

    private func ingestDocuments(_ docs: String, options: IngestOptions) throws {
        let clock = ContinuousClock()
        let started = clock.now
        let reader = try CrawlRecordReader(path: docs)
        let existing = FileManager.default.fileExists(atPath: directory + "/data.mdb")
        let recorded = existing ? try QuarryCollection.open(at: directory).manifest.model : nil
        let embedder: any TextEmbedding
        let resolvedModel: String
        // Re-running an ingest that embedded remotely needs no --embedder again.
        let recordedRemote = try model == nil ? recorded.flatMap(remote.settings(recorded:)) : nil
        if let settings = try remote.settings() ?? recordedRemote {
            embedder = try RemoteEmbedderOptions.connect(settings, tokenizerPath: tokenizer ?? model)
            resolvedModel = settings.identity
        } else {
            let modelPath = try existing ? QuarryCollection.open(at: directory).modelPath(override: model) : model
            guard let modelPath else {
                throw ValidationError("--docs needs --model DIR or --embedder URL for a new collection")
            }
            resolvedModel = URL(fileURLWithPath: modelPath).standardizedFileURL.path
            embedder = try Embedder(modelDirectory: URL(fileURLWithPath: resolvedModel), weights: encoder.weights)
        }
        let collection =
            existing
            ? try QuarryCollection.open(at: directory)
            : try QuarryCollection.create(at: directory, dimension: embedder.dimension)
        var documentOptions = DocumentIngestOptions()
        documentOptions.tokensPerChunk = chunkTokens
        documentOptions.overlap = overlap
        documentOptions.lateChunking = lateChunking
        if let batchSize { documentOptions.batchSize = batchSize }
        if let trainingDocuments {
            guard trainingDocuments > 0 else { throw ValidationError("--training-documents must be positive") }
            documentOptions.trainingBatchSize = trainingDocuments
        }
        documentOptions.vectorOptions = options
        let meter = IngestProgressMeter(totalDocuments: try countRecords(docs))
        documentOptions.embeddingProgress = { meter.report($0) }
        let report = try collection.ingestDocuments(
            from: reader, embedder: embedder, modelPath: resolvedModel, options: documentOptions)
        let seconds = (clock.now - started).milliseconds / 1000
        if json {
            print(jsonLine(report))
        } else {
            printError(
                "\(report.documents) documents (\(report.added) added, \(report.replaced) replaced, \(report.unchanged) unchanged), \(report.chunks) chunks, \(report.tokens) tokens in "
                    + String(
                        format: "%.1fs (%.1f documents/s): embedding %.1fs, indexing %.1fs, reading %.1fs", seconds,
                        Double(report.documents) / max(seconds, 1e-9), report.embedSeconds, report.indexSeconds,
                        report.readSeconds))
        }
    }
}

/// The non-empty lines of a text file.
func readLines(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ValidationError("cannot read \(path)")
    }
    var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    if lines.last == "" { lines.removeLast() }
    return lines
}

extension Prefilter: ExpressibleByArgument {}

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search a collection with query vectors or a text.")

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "Query vectors (.npy, .fvecs, .bvecs).") var vectors: String?
    @Option(help: "A text query, embedded with the collection's model.") var text: String?
    @Option(help: "The embedding model directory (default: the one recorded in the collection).")
    var model: String?
    @OptionGroup var encoder: LocalEncoderOptions
    @Option(help: "For a collection embedded by an embedding server: the model directory or tokenizer.json.")
    var tokenizer: String?
    @Option(name: .short, help: "Results per query.") var k: Int = 10
    @Option(help: "Posting lists probed per query.") var nprobe: Int?
    @Option(help: "Candidates rescored, as a multiple of k.") var oversample: Double?
    @Option(
        help:
            "How the 1-bit prefilter scores codes: asymmetric, hamming or cascade (Hamming, then asymmetric on its survivors; default: the collection's)."
    )
    var prefilter: Prefilter?
    @Option(help: "Threads sharing a file of vector queries, searched as one batch (default: one per core).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Fold chunk hits to the best chunk per document.") var byDocument = false
    @Flag(help: "Brute-force INT8 cosine over every vector (the ground truth).") var exact = false
    @OptionGroup var filters: FilterOptions
    @Flag(help: "One JSON object per query.") var json = false

    func run() throws {
        try reportingErrors {
            let filter = try filters.expression()
            guard (vectors == nil) != (text == nil) else {
                throw ValidationError("give exactly one of --vectors FILE or --text TEXT")
            }
            let collection = try QuarryCollection.open(at: directory)
            _ = try collection.searchParameters(k: k, nprobe: nprobe, oversample: oversample)
            if let text {
                let modelPath = try collection.modelPath(override: model)
                let embedder: any TextEmbedding =
                    try RemoteEmbedderOptions.parse([]).settings(recorded: modelPath).map { settings in
                        try RemoteEmbedderOptions.connect(settings, tokenizerPath: tokenizer)
                    } ?? Embedder(modelDirectory: URL(fileURLWithPath: modelPath), weights: encoder.weights)
                let query = try collection.prepare(text: text, embedder: embedder)
                let hits = try collection.searchDocuments(
                    query, k: k, nprobe: nprobe, oversample: oversample, byDocument: byDocument, exact: exact,
                    filter: filter)
                printDocumentHits(hits, query: 0, json: json)
                return
            }
            guard threads > 0 else { throw ValidationError("--threads must be positive") }
            let queries = try QuerySet(path: vectors!, collection: collection).prepared
            let results =
                exact
                ? try queries.map { try collection.exactSearch($0, k: k, filter: filter) }
                : filter != nil
                    ? try queries.map {
                        try collection.search(
                            $0, k: k, nprobe: nprobe, oversample: oversample, prefilter: prefilter, filter: filter)
                    }
                    : try collection.search(
                        batch: queries, k: k, nprobe: nprobe, oversample: oversample, prefilter: prefilter,
                        threads: threads)
            for (index, hits) in results.enumerated() {
                if json {
                    print(jsonLine(QueryResult(query: index, hits: hits)))
                } else {
                    print("query \(index):")
                    for (rank, hit) in hits.enumerated() {
                        print(String(format: "  %4d  %.4f  %@", rank + 1, hit.score, hit.key))
                    }
                }
            }
        }
    }

    struct QueryResult: Encodable {
        var query: Int
        var hits: [Hit]
    }
}

/// Prints document hits: one JSON object, or a ranked list with titles, urls and snippets.
func printDocumentHits(_ hits: [DocumentHit], query: Int, json: Bool) {
    struct Output: Encodable {
        var query: Int
        var hits: [DocumentHit]
    }
    if json {
        print(jsonLine(Output(query: query, hits: hits)))
        return
    }
    for (rank, hit) in hits.enumerated() {
        let chunk = hit.chunk.map { " #\($0)" } ?? ""
        print(
            String(format: "%4d  %.4f  ", rank + 1, hit.score) + hit.key + chunk + (hit.title.map { "  \($0)" } ?? ""))
        if let url = hit.url { print("      \(url)") }
        if let snippet = hit.snippet {
            let line = snippet.split(whereSeparator: \.isNewline).joined(separator: " ")
            print("      \(line.prefix(160))\(line.count > 160 ? "…" : "")")
        }
    }
}

struct NeighborsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neighbors",
        abstract: "The nearest documents (or vectors) to a stored one, without re-embedding it.")

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "The stored document's (or vector's) key.") var key: String
    @Option(name: .short, help: "Neighbours wanted.") var k: Int = 10
    @Option(help: "Posting lists probed.") var nprobe: Int?
    @Option(help: "Candidates rescored, as a multiple of k.") var oversample: Double?
    @OptionGroup var filters: FilterOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let filter = try filters.expression()
            let collection = try QuarryCollection.open(at: directory)
            let query = try collection.storedQuery(key: key)
            let hits = try collection.searchDocuments(
                query, k: k, nprobe: nprobe, oversample: oversample, byDocument: true, excluding: key, filter: filter)
            printDocumentHits(hits, query: 0, json: json)
        }
    }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete documents (record and every chunk) or vectors by key, in one transaction.")

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "A text file with one key per line.") var keys: String

    func run() throws {
        try reportingErrors {
            let collection = try QuarryCollection.open(at: directory)
            let keyList = try readLines(keys)
            let missing = try collection.delete(keys: keyList)
            printError("deleted \(keyList.count - missing.count) of \(keyList.count) keys")
            if !missing.isEmpty { printError("not found: \(missing.prefix(10).joined(separator: ", "))") }
        }
    }
}

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Rewrite the collection's LMDB file without free pages, reclaiming space left by deletes.",
        discussion: "Run it while no other process has the collection open.")

    @Argument(help: "The collection directory.") var directory: String

    func run() throws {
        try reportingErrors {
            let (before, after) = try QuarryCollection.compact(at: directory)
            printError("compacted \(directory): \(before) -> \(after) bytes")
        }
    }
}

/// Query vectors read from a file and prepared for a collection.
struct QuerySet {
    let prepared: [PreparedQuery]

    init(path: String, collection: QuarryCollection) throws {
        let file = try VectorFile(path: path)
        let dimension = collection.manifest.dimension
        guard file.dimension == dimension else {
            throw QuarryError.dimensionMismatch(expected: dimension, found: file.dimension, source: path)
        }
        if let row = file.firstNonFiniteRow() { throw QuarryError.nonFiniteValue(source: path, row: row) }
        var row = [Float](repeating: 0, count: dimension)
        prepared = try (0..<file.count).map { index in
            if file.elementType == .int8 {
                return try file.withRow(index) { pointer in
                    try collection.prepare(
                        int8: Array(
                            UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: Int8.self), count: dimension)))
                }
            }
            row.withUnsafeMutableBufferPointer { file.floatRow(index, into: $0.baseAddress!) }
            return try collection.prepare(query: row)
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Counts, dimensions, lists, list-size spread and bytes on disk.")

    @Argument(help: "The collection directory.") var directory: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let stats = try QuarryCollection.open(at: directory).stats()
            if json {
                print(jsonLine(stats))
            } else {
                print("vectors      \(stats.vectors)")
                print("documents    \(stats.documents)")
                if let model = stats.model { print("model        \(model)") }
                print("dimension    \(stats.dimension)")
                print(
                    "lists        \(stats.lists) (sizes \(stats.smallestList)...\(stats.largestList), mean \(String(format: "%.1f", stats.meanListSize)), \(stats.emptyLists) empty)"
                )
                if let penalty = stats.spillPenalty {
                    print("spill        second lists, penalty \(penalty) (\(stats.listEntries) list entries)")
                }
                print("quantization \(stats.quantization ?? "none (INT8 input)")")
                print("disk         \(stats.bytesOnDisk) bytes")
            }
        }
    }
}

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Pick nprobe and oversample for a target recall and record them as the collection's defaults.",
        discussion: """
            Queries the index with held-out query vectors (--queries) or else a sample of its own \
            vectors (each left out of its own results and exact neighbours; these are easier than real \
            queries), finds per probe count (steps of about 1.5x up to the list count) the smallest \
            oversampling that reaches the target, and keeps the fastest (one query at a time, one thread).
            """)

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "Recall@k to reach.") var targetRecall: Double = 0.95
    @Option(name: .short, help: "The k the recall is measured at.") var k: Int = 10
    @Option(help: "Sampled query vectors (or the first N of --queries).") var sample: Int = 200
    @Option(help: "Held-out query vectors (.npy/.fvecs/.bvecs) to tune on instead of the collection's own.")
    var queries: String?
    @Flag(help: "Report the setting without recording it.") var dryRun = false

    func run() throws {
        try reportingErrors {
            let collection = try QuarryCollection.open(at: directory)
            try collection.warm()
            let heldOut = try queries.map { try QuerySet(path: $0, collection: collection).prepared }
            let result = try collection.tune(
                k: k, targetRecall: targetRecall, sampleSize: sample, queries: heldOut, record: !dryRun)
            print(jsonLine(result))
            if !result.reached {
                printError("no setting reached recall \(targetRecall); recorded the best found")
            }
        }
    }
}

struct IndexFieldsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index-fields",
        abstract: "Rebuild a collection's field indexes from its stored documents, adding declared fields.",
        discussion: """
            Filters need a collection's fields indexed. A collection stored before filters (schema             version 2) is indexed by its next write, or by this command; a metadata field first             declared here is indexed for every stored document.
            """)

    @Argument(help: "The collection directory.") var directory: String
    @Option(
        name: .customLong("field"),
        help: "A metadata field to index too, NAME:KIND with KIND keyword, number or date; repeatable.")
    var fields: [AttributeField] = []

    func run() throws {
        try reportingErrors {
            let indexed = try QuarryCollection.open(at: directory).reindexAttributes(declaring: fields)
            printError("indexed \(indexed.map { "\($0.name) (\($0.kind.rawValue))" }.joined(separator: ", "))")
        }
    }
}
