import Foundation
import Hummingbird
import Logging
import Quarry

/// The HTTP server behind `quarry serve`: embeddings (OpenAI and Perplexity shapes), search,
/// document upsert and collection management over the collections in one data directory.
///
/// Searches and embeddings run on a pool of `searchThreads` dedicated threads, writes
/// (ingest, delete, create) on one writer thread, so neither blocks the event loops or Swift's
/// cooperative pool and searches keep every search thread while an ingest commits.
public final class QuarryServer: Sendable {
    public let configuration: ServerConfiguration
    let embedder: any TextEmbedding
    /// The model as collections record it: the model directory's standardised absolute path,
    /// or a remote embedder's identity.
    let modelPath: String
    /// The name requests use for the model (`configuration.modelName`, else `defaultModelName`).
    let modelName: String
    /// When the model was made, as `GET /v1/models` reports it (its config's modification time).
    let modelCreated: Int
    let searchPool: WorkPool
    let writePool: WorkPool
    let metrics = ServerMetrics()
    let collections: CollectionDirectory

    /// Loads the model and checks the data directory (created when missing).
    public init(configuration: ServerConfiguration) throws {
        self.configuration = configuration
        guard configuration.maxBodyBytes > 0, configuration.maxQueue >= 0, configuration.searchThreads > 0,
            configuration.searchThreads <= 1_024, configuration.maxK > 0, configuration.maxK <= Limits.maxK,
            configuration.maxInFlightBytes >= configuration.maxBodyBytes, configuration.maxResponseBytes > 0
        else {
            throw QuarryError.invalidArgument(
                "the body limit, response limit and thread count (at most 1,024) must be positive, the queue "
                    + "limit at least 0, k at most \(Limits.maxK), and the in-flight limit at least the body limit")
        }
        if let name = configuration.modelName, name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw QuarryError.invalidArgument("--model-name must not be empty")
        }
        let modelURL = URL(fileURLWithPath: configuration.modelDirectory).standardizedFileURL
        if let remote = configuration.embedder {
            // The model directory (or tokenizer file) only provides the tokenizer for chunking.
            embedder = try RemoteEmbedder(
                settings: remote, tokenizer: try loadTokenizer(path: modelURL.path),
                maxTokens: modelWindow(tokenizerPath: modelURL.path))
            modelPath = remote.identity
            modelName = configuration.modelName ?? remote.model ?? defaultModelName(directory: modelURL)
        } else {
            embedder = try Embedder(modelDirectory: modelURL, weights: configuration.weights)
            modelPath = modelURL.path
            modelName = configuration.modelName ?? defaultModelName(directory: modelURL)
        }
        let configAttributes = try? FileManager.default.attributesOfItem(
            atPath: modelURL.appendingPathComponent("config.json").path)
        modelCreated = Int((configAttributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        collections = try CollectionDirectory(path: configuration.dataDirectory)
        searchPool = WorkPool(
            name: "quarry-search", threadCount: configuration.searchThreads, queueLimit: configuration.maxQueue)
        writePool = WorkPool(name: "quarry-write", threadCount: 1, queueLimit: configuration.maxQueue)
    }

    /// The served model as `GET /v1/models` lists it.
    var modelObject: ModelObject { ModelObject(id: modelName, created: modelCreated) }

    /// The Hummingbird application: routes, middleware and the listening address.
    public func application(logger: Logger? = nil) -> some ApplicationProtocol {
        let router = Router()
        router.add(
            middleware: MetricsAndErrorsMiddleware(metrics: metrics, hiddenPaths: [collections.path, modelPath]))
        router.add(
            middleware: HostCheckMiddleware(
                allowed: AllowedHosts(listenHost: configuration.host, extra: configuration.allowedHosts)))
        router.add(middleware: AuthMiddleware(apiKey: configuration.apiKey, openPaths: ["/healthz", "/"]))
        router.add(
            middleware: BodyLimitMiddleware(
                maxBytes: configuration.maxBodyBytes, budget: ByteBudget(limit: configuration.maxInFlightBytes)))
        router.add(middleware: JSONContentTypeMiddleware())
        addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "quarry"),
            logger: logger ?? Logger(label: "quarry"))
    }

    /// Serves until SIGINT or SIGTERM, then lets the worker threads finish.
    public func run() async throws {
        defer { stop() }
        try await application().runService()
    }

    /// Ends the worker threads once their queued jobs are done.
    public func stop() {
        searchPool.stop()
        writePool.stop()
    }
}

/// The collections of the data directory, opened on first use and kept open.
final class CollectionDirectory: Sendable {
    let path: String
    private let open = LockedBox([String: QuarryCollection]())

    init(path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw QuarryError.invalidArgument("the data directory \(path) is a file, not a directory")
            }
        } else {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Checks a collection name: letters, digits, `-`, `_` and `.`, not starting with a dot (so
    /// no `..`), at most 128 bytes: a name never leaves the data directory.
    static func validate(_ name: String) throws {
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_" || scalar == ".")
        }
        guard !name.isEmpty, name.utf8.count <= 128, allowed, !name.hasPrefix("."), !name.contains("..") else {
            throw APIError.badRequest(
                "invalid collection name '\(name.prefix(140))': use 1 to 128 letters, digits, '-', '_' or '.', not starting with '.'"
            )
        }
    }

    /// The open collection called `name`; 404 when there is none.
    func collection(named name: String) throws -> QuarryCollection {
        try Self.validate(name)
        return try open.withLock { open in
            if let collection = open[name] { return collection }
            let directory = path + "/" + name
            guard FileManager.default.fileExists(atPath: directory + "/data.mdb") else {
                throw APIError.notFound("no collection named '\(name)'")
            }
            let collection = try QuarryCollection.open(at: directory)
            open[name] = collection
            return collection
        }
    }

    /// Creates the collection `name`.
    func create(named name: String, dimension: Int, listCount: Int?) throws -> QuarryCollection {
        try Self.validate(name)
        return try open.withLock { open in
            let directory = path + "/" + name
            guard open[name] == nil, !FileManager.default.fileExists(atPath: directory) else {
                throw APIError(status: .conflict, message: "a collection named '\(name)' exists already")
            }
            let collection = try QuarryCollection.create(at: directory, dimension: dimension, listCount: listCount)
            open[name] = collection
            return collection
        }
    }

    /// The names of the collections in the directory, sorted.
    func names() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return entries.filter { name in
            (try? Self.validate(name)) != nil && FileManager.default.fileExists(atPath: path + "/" + name + "/data.mdb")
        }.sorted()
    }
}
