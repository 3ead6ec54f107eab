import Foundation
import Hummingbird
import NIOCore
import Quarry

extension QuarryServer {
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: searchPageHTML)))
        }
        router.get("/healthz") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: try self.metricsExposition())))
        }
        router.post("/v1/embeddings") { request, _ in
            let body = try decodeBody(EmbeddingsRequest.self, from: try await self.body(of: request))
            return jsonResponse(try await self.searchPool.run { try self.embeddings(body) })
        }
        router.get("/v1/models") { _, _ in jsonResponse(ModelList(data: [self.modelObject])) }
        // A Hub-style name holds a slash ("org/name"), so the id is the rest of the path.
        router.get("/v1/models/**") { _, context in
            let id = context.parameters.getCatchAll().joined(separator: "/")
            guard (id.removingPercentEncoding ?? id) == self.modelName else {
                throw APIError.notFound("model '\(id)' is not served here; this server serves '\(self.modelName)'")
            }
            return jsonResponse(self.modelObject)
        }
        router.post("/v1/contextualizedembeddings") { request, _ in
            let body = try decodeBody(ContextualizedEmbeddingsRequest.self, from: try await self.body(of: request))
            return jsonResponse(try await self.searchPool.run { try self.contextualizedEmbeddings(body) })
        }
        router.get("/v1/collections") { _, _ in
            jsonResponse(try await self.searchPool.run { try self.listCollections() }, snakeCase: true)
        }
        router.post("/v1/collections") { request, _ in
            let body = try decodeBody(CreateCollectionRequest.self, from: try await self.body(of: request))
            let created = try await self.writePool.run { try self.createCollection(body) }
            return jsonResponse(created, status: .created, snakeCase: true)
        }
        router.get("/v1/collections/{name}") { _, context in
            let name = try pathParameter("name", context)
            return jsonResponse(
                try await self.searchPool.run {
                    NamedStats(name: name, stats: try self.collections.collection(named: name).stats())
                }, snakeCase: true)
        }
        router.post("/v1/collections/{name}/search") { request, context in
            let name = try pathParameter("name", context)
            let body = try decodeBody(SearchRequest.self, from: try await self.body(of: request))
            return jsonResponse(try await self.searchPool.run { try self.search(name, body) })
        }
        router.post("/v1/collections/{name}/documents") { request, context in
            let name = try pathParameter("name", context)
            let body = try await self.body(of: request)
            let report = try await self.writePool.run { try self.ingest(name, body: body) }
            return jsonResponse(report, snakeCase: true)
        }
        router.get("/v1/collections/{name}/documents/{key}") { _, context in
            let name = try pathParameter("name", context)
            let key = try pathParameter("key", context)
            let document = try await self.searchPool.run {
                guard let document = try self.collections.collection(named: name).document(key: key) else {
                    throw APIError.notFound("no document with key '\(QuarryError.abbreviated(key))' in '\(name)'")
                }
                return document
            }
            return jsonResponse(document)
        }
        router.delete("/v1/collections/{name}/documents/{key}") { _, context in
            let name = try pathParameter("name", context)
            let key = try pathParameter("key", context)
            try await self.writePool.run {
                guard try self.collections.collection(named: name).delete(keys: [key]).isEmpty else {
                    throw APIError.notFound("no document with key '\(QuarryError.abbreviated(key))' in '\(name)'")
                }
            }
            return jsonResponse(["deleted": key])
        }
    }

    /// The request body, up to the configured limit (413 beyond it).
    private func body(of request: Request) async throws -> Data {
        var request = request
        do {
            return Data(try await request.collectBody(upTo: configuration.maxBodyBytes).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(
                status: .contentTooLarge,
                message: "the request body is larger than the limit of \(configuration.maxBodyBytes) bytes")
        }
    }

    // MARK: Embeddings

    private func checkModel(_ requested: String?) throws {
        guard let requested, requested != modelName, requested != modelPath else { return }
        throw APIError.notFound("model '\(requested)' is not served here; this server serves '\(modelName)'")
    }

    private func checkDimensions(_ requested: Int?) throws -> Int {
        guard let requested else { return embedder.dimension }
        guard requested > 0, requested <= embedder.dimension else {
            throw APIError.badRequest("\"dimensions\" must be between 1 and \(embedder.dimension), got \(requested)")
        }
        return requested
    }

    /// Matryoshka truncation, re-normalised for models whose vectors are unit length.
    private func truncated(_ vector: [Float], to dimension: Int) -> [Float] {
        dimension == vector.count
            ? vector : Pooling.truncated(vector, dimensions: dimension, renormalize: embedder.normalizes)
    }

    private func checkTexts(_ texts: [String], field: String) throws {
        guard !texts.isEmpty else { throw APIError.badRequest("\"\(field)\" is empty") }
        guard texts.count <= configuration.maxInputs else {
            throw APIError.badRequest("\"\(field)\" holds \(texts.count) texts; at most \(configuration.maxInputs)")
        }
        if let index = texts.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw APIError.badRequest("\"\(field)\" text \(index) is empty")
        }
    }

    /// Token-id inputs as `Int32`, each id checked against the vocabulary and each sequence
    /// against the model's window.
    private func checkTokenIDs(_ sequences: [[Int]]) throws -> (embedder: Embedder, ids: [[Int32]]) {
        guard !sequences.isEmpty else { throw APIError.badRequest("\"input\" is empty") }
        guard sequences.count <= configuration.maxInputs else {
            throw APIError.badRequest(
                "\"input\" holds \(sequences.count) token lists; at most \(configuration.maxInputs)")
        }
        guard let embedder = embedder as? Embedder else {
            throw APIError.badRequest(
                "token-id input needs a local model; this server embeds with \(modelPath): send texts")
        }
        let vocabularySize = embedder.encoder.config.vocabularySize
        let capacity =
            embedder.maxTokens - embedder.tokenizer.prefixTokens.count - embedder.tokenizer.suffixTokens.count
        let checked = try sequences.enumerated().map { index, ids in
            guard !ids.isEmpty else { throw APIError.badRequest("\"input\" token list \(index) is empty") }
            guard ids.count <= capacity else {
                throw APIError.badRequest(
                    "\"input\" token list \(index) holds \(ids.count) tokens; this model takes at most \(capacity)")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw APIError.badRequest(
                    "\"input\" token list \(index) holds the id \(bad), outside this model's vocabulary of \(vocabularySize)"
                )
            }
            return ids.map { Int32($0) }
        }
        return (embedder, checked)
    }

    func embeddings(_ request: EmbeddingsRequest) throws -> EmbeddingsResponse {
        try checkModel(request.model)
        let dimension = try checkDimensions(request.dimensions)
        var tokens = 0
        let vectors: [[Float]]
        switch request.input {
        case .texts(let texts):
            try checkTexts(texts, field: "input")
            vectors = try embedder.embed(texts) { tokens = $0.tokensDone }
        case .tokenIDs(let sequences):
            let (local, ids) = try checkTokenIDs(sequences)
            vectors = try local.embedTokens(ids) { tokens = $0.tokensDone }
        }
        let encoding = request.encodingFormat ?? .float
        return EmbeddingsResponse(
            data: vectors.enumerated().map { index, vector in
                EmbeddingObject(index: index, embedding: encoding.encode(truncated(vector, to: dimension)))
            },
            model: modelName, usage: Usage(promptTokens: tokens, totalTokens: tokens))
    }

    func contextualizedEmbeddings(_ request: ContextualizedEmbeddingsRequest) throws
        -> ContextualizedEmbeddingsResponse
    {
        try checkModel(request.model)
        let dimension = try checkDimensions(request.dimensions)
        guard !request.input.isEmpty else { throw APIError.badRequest("\"input\" is empty") }
        for (index, chunks) in request.input.enumerated() {
            try checkTexts(chunks, field: "input[\(index)]")
        }
        try checkTexts(request.input.flatMap { $0 }, field: "input")
        var tokens = 0
        let documents = try embedder.embedContextual(request.input) { tokens = $0.tokensDone }
        let encoding = request.encodingFormat ?? .float
        return ContextualizedEmbeddingsResponse(
            data: documents.enumerated().map { documentIndex, chunks in
                DocumentEmbeddings(
                    index: documentIndex,
                    data: chunks.enumerated().map { index, vector in
                        EmbeddingObject(index: index, embedding: encoding.encode(truncated(vector, to: dimension)))
                    })
            },
            model: modelName, usage: Usage(promptTokens: tokens, totalTokens: tokens))
    }

    // MARK: Collections

    func listCollections() throws -> CollectionList {
        CollectionList(
            collections: try collections.names().map { name in
                NamedStats(name: name, stats: try collections.collection(named: name).stats())
            })
    }

    func createCollection(_ request: CreateCollectionRequest) throws -> NamedStats {
        let collection = try collections.create(
            named: request.name, dimension: request.dims ?? embedder.dimension, listCount: request.nlist)
        return NamedStats(name: request.name, stats: try collection.stats())
    }

    /// Upserts crawl records sent as a JSON array or as JSON lines.
    func ingest(_ name: String, body: Data) throws -> DocumentIngestReport {
        let collection = try collections.collection(named: name)
        let records = try crawlRecords(in: body)
        guard !records.isEmpty else { throw APIError.badRequest("the request holds no records") }
        return try collection.ingestDocuments(records, embedder: embedder, modelPath: modelPath)
    }

    // MARK: Search

    func search(_ name: String, _ request: SearchRequest) throws -> SearchResponse {
        let k = request.k ?? 10
        guard k > 0, k <= configuration.maxK else {
            throw APIError.badRequest("\"k\" must be between 1 and \(configuration.maxK), got \(k)")
        }
        let fields = try (request.include ?? []).map { field in
            guard let known = HitField(rawValue: field) else {
                throw APIError.badRequest(
                    "unknown field '\(field)' in \"include\": use \(HitField.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return known
        }
        let filter = try request.filterExpression()
        let collection = try collections.collection(named: name)
        _ = try collection.searchParameters(k: k, nprobe: request.nprobe, oversample: request.oversample)
        let query: PreparedQuery
        var excluded: String?
        switch (request.query, request.vector, request.key) {
        case (let text?, nil, nil):
            try checkTextQuery(collection, name: name)
            query = try collection.prepare(text: text, embedder: embedder)
        case (nil, let vector?, nil):
            query = try collection.prepare(query: vector)
        case (nil, nil, let key?):
            query = try collection.storedQuery(key: key)
            excluded = key
        default:
            throw APIError.badRequest("give exactly one of \"query\" (text), \"vector\" or \"key\"")
        }
        let wanted = Set(fields)
        let hits = try collection.searchDocuments(
            query, k: k, nprobe: request.nprobe, oversample: request.oversample,
            byDocument: request.byDocument ?? false,
            fields: wanted.isDisjoint(with: [.text, .metadata]) ? (wanted.isEmpty ? .none : .summary) : .full,
            excluding: excluded, exact: request.exact ?? false, maxResultBytes: configuration.maxResponseBytes,
            filter: filter)
        return SearchResponse(
            hits: hits.map { hit in
                var hit = hit
                if !wanted.contains(.title) { hit.title = nil }
                if !wanted.contains(.url) { hit.url = nil }
                if !wanted.contains(.snippet) { hit.snippet = nil }
                if !wanted.contains(.text) { hit.text = nil }
                if !wanted.contains(.metadata) { hit.metadata = nil }
                return hit
            })
    }

    /// A text query needs the collection's vectors to come from the served model.
    private func checkTextQuery(_ collection: QuarryCollection, name: String) throws {
        if let recorded = collection.manifest.model {
            guard recorded == modelPath else {
                throw APIError.badRequest(
                    "'\(name)' was built with the model at \(recorded); this server embeds text with \(modelPath)")
            }
        } else if try collection.vectorCount() > 0 {
            throw APIError.badRequest("'\(name)' holds bare vectors without a model: search it with \"vector\"")
        }
    }

    // MARK: Metrics

    /// Read in the request's own task, not on a pool, so that a scrape is answered while the
    /// pools are full (reading the figures takes a few LMDB reads per collection).
    func metricsExposition() throws -> String {
        let sizes = try collections.names().map { name in
            (name: name, stats: try collections.collection(named: name).stats())
        }
        return metrics.exposition(
            collections: sizes,
            pools: [("search", searchPool.jobsInFlight), ("write", writePool.jobsInFlight)])
    }
}

/// A path parameter, percent-decoded (a document key may hold `/` as `%2F`).
private func pathParameter(_ name: String, _ context: BasicRequestContext) throws -> String {
    let raw = try context.parameters.require(name)
    guard let decoded = raw.removingPercentEncoding else {
        throw APIError.badRequest("the \(name) in the path is not valid percent-encoding")
    }
    return decoded
}

/// A JSON response. `snakeCase` converts property names (only for values without dictionaries:
/// the conversion would rewrite dictionary keys, such as those of document metadata, too).
private func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok, snakeCase: Bool = false)
    -> Response
{
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
    do {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    } catch {
        return APIError(status: .internalServerError, message: "could not encode the response: \(error)").response
    }
}
