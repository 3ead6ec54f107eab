import Foundation
import Quarry

/// Settings of `quarry serve`.
public struct ServerConfiguration: Sendable {
    /// The directory holding one collection per subdirectory, named after it.
    public var dataDirectory: String
    /// The embedding model directory used for text queries, document ingest and `/v1/embeddings`;
    /// with `embedder`, the directory (or tokenizer file) of the remote model's tokenizer.
    public var modelDirectory: String
    /// An embedding server that embeds in place of the local model.
    public var embedder: RemoteEmbedderSettings?
    /// The name requests and `GET /v1/models` use for the model (default: `defaultModelName`).
    public var modelName: String?
    /// How the local encoder holds its dense layers' weights.
    public var weights: WeightPrecision = .f32
    public var host = "127.0.0.1"
    /// The port to listen on; 0 picks a free one.
    public var port = 8080
    /// When set, every route but `/healthz` and the search page needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    /// Request bodies larger than this get 413.
    public var maxBodyBytes = 64 << 20
    /// Request bytes all requests in flight may hold together; a request that does not fit gets
    /// 503 (it reserves its Content-Length, or `maxBodyBytes` when it sends none).
    public var maxInFlightBytes = 256 << 20
    /// The most bytes of stored fields (text, metadata, titles, snippets) one search may return.
    public var maxResponseBytes = 64 << 20
    /// Host names, besides loopback names and the listen address, that the Host header may
    /// name (`*`: any); other hosts get 421, which stops DNS-rebinding pages.
    public var allowedHosts: [String] = []
    /// Requests that may wait for a busy worker thread; beyond that they get 429.
    public var maxQueue = 64
    /// Threads that run searches and embeddings (default: one per core).
    public var searchThreads = ProcessInfo.processInfo.activeProcessorCount
    /// The largest `k` a search may ask for.
    public var maxK = 10_000
    /// The most texts one embeddings request may hold.
    public var maxInputs = 2048

    public init(dataDirectory: String, modelDirectory: String) {
        self.dataDirectory = dataDirectory
        self.modelDirectory = modelDirectory
    }
}
