import ArgumentParser
import Foundation
import Quarry

extension WeightPrecision: ExpressibleByArgument {}

/// `--weights f32|bf16|int8`: how the local encoder holds its dense layers' weights, shared by
/// `embed`, `ingest`, `search` and `serve`.
struct LocalEncoderOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The local encoder's weights: f32 (the reference), bf16 (BF16 weights and activations, F32 sums; AVX-512 BF16 where present) or int8 (per-channel INT8, AVX-512 VNNI or AVX2 where present).",
            discussion:
                "The default is the fastest form whose embeddings stay within cosine 0.99 of F32 on this CPU: int8 where the INT8 product has an AVX2 or AVX-512 VNNI kernel (QUARRY_KERNEL_LEVEL caps it), else f32."
        ))
    var weights: WeightPrecision = .fastestAccurate
}

/// `--embedder URL` and its settings, shared by `ingest` and `serve`.
struct RemoteEmbedderOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Embed on an embedding server: an OpenAI-compatible /v1/embeddings URL or TEI's /embed.",
            discussion: "The API key, if any, comes from $QUARRY_EMBEDDER_API_KEY."))
    var embedder: String?
    @Option(help: "The model name sent to the embedding server.") var embedderModel: String?
    @Option(help: "Matryoshka dimensions asked of the embedding server.") var embedderDimensions: Int?
    @Option(help: "How the OpenAI-shaped server writes vectors: base64 or float.")
    var embedderEncoding = "base64"
    @Option(help: "Requests in flight to the embedding server.") var embedderConcurrency = 4
    @Option(help: "Tokens per request to the embedding server.") var embedderBatchTokens = 8192
    @Option(help: "Texts per request to the embedding server.") var embedderBatchTexts = 32
    @Option(help: "Tries per request before a retryable failure (refused, 429, 5xx) stops the run.")
    var embedderTries = 6
    @Option(help: "Seconds before the second try, doubling for each further one.") var embedderBackoff = 0.5

    /// The settings for `endpoint` (default: `--embedder`), or nil without one.
    func settings(endpoint: String? = nil) throws -> RemoteEmbedderSettings? {
        guard let endpoint = endpoint ?? embedder else { return nil }
        var settings = try RemoteEmbedderSettings(
            endpoint: endpoint, model: embedderModel, dimensions: embedderDimensions)
        guard ["base64", "float"].contains(embedderEncoding) else {
            throw ValidationError("--embedder-encoding must be base64 or float, not '\(embedderEncoding)'")
        }
        settings.encodingFormat = embedderEncoding
        settings.concurrentRequests = embedderConcurrency
        settings.tokensPerRequest = embedderBatchTokens
        settings.textsPerRequest = embedderBatchTexts
        settings.maxAttempts = embedderTries
        settings.initialBackoffSeconds = embedderBackoff
        settings.apiKey = ProcessInfo.processInfo.environment["QUARRY_EMBEDDER_API_KEY"].flatMap {
            $0.isEmpty ? nil : $0
        }
        return settings
    }

    /// The settings a collection recorded, when it was embedded remotely, with this
    /// command's request sizes, tries and API key.
    func settings(recorded: String) throws -> RemoteEmbedderSettings? {
        guard RemoteEmbedderSettings.isIdentity(recorded) else { return nil }
        let identity = try RemoteEmbedderSettings(identity: recorded)
        var settings = try self.settings(endpoint: identity.url.absoluteString)
        settings?.model = identity.model
        settings?.dimensions = identity.dimensions
        settings?.api = identity.api
        return settings
    }

    /// A remote embedder whose chunks are sized with the tokenizer at `tokenizerPath`.
    static func connect(_ settings: RemoteEmbedderSettings, tokenizerPath: String?) throws -> RemoteEmbedder {
        guard let tokenizerPath else {
            throw ValidationError(
                "an embedding server needs its model's tokenizer (it sizes chunks and requests): pass --tokenizer MODEL_DIR or tokenizer.json"
            )
        }
        return try RemoteEmbedder(
            settings: settings, tokenizer: try loadTokenizer(path: tokenizerPath),
            maxTokens: modelWindow(tokenizerPath: tokenizerPath))
    }
}

/// Prints tokens/s, documents/s and the time left of a document ingest to stderr, at most
/// every two seconds, and once the last document is embedded.
final class IngestProgressMeter: @unchecked Sendable {
    private let totalDocuments: Int?
    private let started = ContinuousClock.now
    private let lock = NSLock()
    private var lastPrinted = ContinuousClock.now

    init(totalDocuments: Int?) { self.totalDocuments = totalDocuments }

    func report(_ progress: DocumentIngestProgress) {
        let now = ContinuousClock.now
        let line: String? = lock.withLock {
            let finished = totalDocuments.map { progress.documents >= Double($0) } ?? false
            guard now - lastPrinted >= .seconds(2) || finished else { return nil }
            lastPrinted = now
            let seconds = max((now - started).milliseconds / 1000, 1e-3)
            let documentRate = progress.documents / seconds
            var text = String(
                format: "embed: %.0f documents, %.1f documents/s, %.0f tokens/s", progress.documents, documentRate,
                Double(progress.tokens) / seconds)
            if let totalDocuments, documentRate > 0 {
                let left = max(0, Double(totalDocuments) - progress.documents) / documentRate
                text += String(
                    format: " (%.0f%% of %d, ETA %dh%02dm%02ds)",
                    100 * progress.documents / Double(max(1, totalDocuments)),
                    totalDocuments, Int(left) / 3600, Int(left) / 60 % 60, Int(left) % 60)
            }
            return text
        }
        if let line { printError(line) }
    }
}

/// The number of records in a crawl file (for the ETA), read once before the ingest.
func countRecords(_ path: String) throws -> Int {
    let reader = try CrawlRecordReader(path: path)
    var count = 0
    while try reader.next() != nil { count += 1 }
    return count
}
