import ArgumentParser
import Foundation
import QuarryServer

/// `quarry serve`: the HTTP API and search page over a directory of collections.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve embeddings, search and document upserts over HTTP for the collections in DIR.",
        discussion: """
            Each subdirectory of --data is a collection named after it. Routes: POST /v1/embeddings, \
            POST /v1/contextualizedembeddings, GET /v1/models, GET /v1/models/ID, GET|POST /v1/collections, GET /v1/collections/NAME, \
            POST /v1/collections/NAME/search, POST /v1/collections/NAME/documents, \
            GET|DELETE /v1/collections/NAME/documents/KEY, GET /healthz, GET /metrics, and a search \
            page at /. Stops on SIGINT or SIGTERM.
            """)

    @Option(help: "The data directory: one collection per subdirectory (created when missing).") var data: String
    @Option(
        help:
            "The embedding model directory for text queries, ingest and /v1/embeddings; with --embedder, the model directory or tokenizer.json of its tokenizer."
    ) var model: String
    @OptionGroup var remote: RemoteEmbedderOptions
    @OptionGroup var encoder: LocalEncoderOptions
    @Option(
        help:
            "The name clients give as \"model\" (default: the model directory's name, or its config's when that is generic)."
    )
    var modelName: String?
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).") var port = 8080
    @Option(help: "Require Authorization: Bearer KEY (default: $QUARRY_API_KEY; none when unset).")
    var apiKey: String?
    @Option(help: "Larger request bodies get 413.") var maxBodyBytes = 64 << 20
    @Option(help: "Requests that may wait for a busy worker; more get 429.") var maxQueue = 64
    @Option(help: "Threads for searches and embeddings (default: one per core).") var threads: Int?
    @Option(help: "Request-body bytes all requests in flight may hold; beyond it they get 503.")
    var maxInFlightBytes = 256 << 20
    @Option(help: "Bytes of stored fields one search may return; beyond it the search gets 413.")
    var maxResponseBytes = 64 << 20
    @Option(
        help: "A host name the Host header may name besides loopback and --host (repeatable; '*': any).")
    var allowedHost: [String] = []

    func run() async throws {
        var configuration = ServerConfiguration(dataDirectory: data, modelDirectory: model)
        configuration.modelName = modelName
        configuration.weights = encoder.weights
        configuration.embedder = try reportingErrors { try remote.settings() }
        configuration.host = host
        configuration.port = port
        configuration.apiKey = [apiKey, ProcessInfo.processInfo.environment["QUARRY_API_KEY"]]
            .compactMap { $0 }.first { !$0.isEmpty }
        configuration.maxBodyBytes = maxBodyBytes
        configuration.maxQueue = maxQueue
        if let threads { configuration.searchThreads = threads }
        configuration.maxInFlightBytes = maxInFlightBytes
        configuration.maxResponseBytes = maxResponseBytes
        configuration.allowedHosts = allowedHost
        let server = try reportingErrors { try QuarryServer(configuration: configuration) }
        try await server.run()
    }
}
