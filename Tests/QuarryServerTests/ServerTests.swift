import Dispatch
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Quarry
import QuarryEmbed
import Testing

@testable import QuarryServer

/// Every route of `quarry serve` over HTTP on a real loopback server. Serialized: each test
/// starts a server with its own worker threads, and the 2-core CI machine runs them one by one.
@Suite(.serialized) struct ServerTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture.get() }

    // MARK: Health, page, collections

    @Test func healthAndSearchPage() async throws {
        try await withServer { _, client in
            let health = try await client.send(.get, "/healthz")
            #expect(health.status == .ok && health.object["status"] as? String == "ok")
            let page = try await client.send(.get, "/")
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(String(buffer: page.body).contains("<title>Quarry search</title>"))
            let missing = try await client.send(.get, "/v2/nothing")
            #expect(missing.status == .notFound && !missing.errorMessage.isEmpty)
        }
    }

    @Test func collectionsAreListedAndDescribed() async throws {
        try await withServer { _, client in
            let list = try await client.send(.get, "/v1/collections")
            #expect(list.status == .ok)
            let entries = list.object["collections"] as? [[String: Any]] ?? []
            let docs = try #require(entries.first { $0["name"] as? String == "docs" })
            #expect(docs["documents"] as? Int == Fixture.documentCount && docs["dimension"] as? Int == 384)

            let stats = try await client.send(.get, "/v1/collections/docs")
            #expect(stats.status == .ok)
            #expect(stats.object["vectors"] as? Int == Fixture.documentCount && stats.object["lists"] as? Int == 4)
            #expect(stats.object["bytes_on_disk"] as? Int ?? 0 > 0 && stats.object["name"] as? String == "docs")

            #expect(try await client.send(.get, "/v1/collections/nothing-here").status == .notFound)
            for name in ["..", ".hidden", "a%2Fb", "a%20b", "..%2F..%2Fetc"] {
                let response = try await client.send(.get, "/v1/collections/\(name)")
                #expect(response.status == .badRequest, "\(name)")
                #expect(response.errorMessage.contains("invalid collection name"))
            }
        }
    }

    @Test func collectionsAreCreated() async throws {
        try await withServer { _, client in
            let name = "created-\(UUID().uuidString.prefix(8))"
            let created = try await client.send(.post, "/v1/collections", json: #"{"name": "\#(name)"}"#)
            #expect(created.status == .created)
            #expect(created.object["dimension"] as? Int == 384 && created.object["vectors"] as? Int == 0)
            let again = try await client.send(.post, "/v1/collections", json: #"{"name": "\#(name)"}"#)
            #expect(again.status == .conflict)
            let small = try await client.send(.post, "/v1/collections", json: #"{"name": "\#(name)-64", "dims": 64}"#)
            #expect(small.status == .created && small.object["dimension"] as? Int == 64)
            for body in [#"{"name": "../escape"}"#, #"{"name": "a/b"}"#, #"{"dims": 8}"#, #"{"name": "x", "dims": 0}"#]
            {
                #expect(try await client.send(.post, "/v1/collections", json: body).status == .badRequest, "\(body)")
            }
            #expect(!FileManager.default.fileExists(atPath: fixture.dataDirectory + "/../escape"))
        }
    }

    // MARK: Search

    /// Text searches over HTTP return what `QuarryCollection.searchDocuments` returns for the same
    /// query text (as `quarry search --text` does).
    @Test func textSearchEqualsTheLibrary() async throws {
        let collection = try QuarryCollection.open(at: fixture.dataDirectory + "/docs")
        let embedder = fixture.embedder
        try await withServer { _, client in
            for (text, byDocument) in [("how does a volcano work", false), ("chess and bread", true)] {
                for k in [3, 10, 1000] {
                    let response = try await client.send(
                        .post, "/v1/collections/docs/search",
                        json: jsonText([
                            "query": text, "k": k, "by_document": byDocument, "nprobe": 4,
                            "include": ["title", "url", "snippet", "text", "metadata"],
                        ]))
                    #expect(response.status == .ok)
                    let hits = try response.decoded(SearchResponse.self).hits
                    let expected = try collection.searchDocuments(
                        collection.prepare(text: text, embedder: embedder), k: k, nprobe: 4, byDocument: byDocument,
                        fields: .full)
                    #expect(hits == expected)
                    #expect(hits.count == min(k, Fixture.documentCount))
                }
            }
            // Without "include": keys, chunks and scores only.
            let bare = try await client.send(
                .post, "/v1/collections/docs/search", json: #"{"query": "violin", "k": 2, "nprobe": 4}"#)
            let hits = try bare.decoded(SearchResponse.self).hits
            #expect(hits.count == 2 && hits[0].title == nil && hits[0].snippet == nil)
            #expect(hits[0].key.hasPrefix("doc-") && hits[0].score > 0)
        }
    }

    @Test func vectorAndKeySearches() async throws {
        let collection = try QuarryCollection.open(at: fixture.dataDirectory + "/docs")
        let vector = try fixture.embedder.embed(["a glacier in the mountains"])[0]
        try await withServer { _, client in
            let byVector = try await client.send(
                .post, "/v1/collections/docs/search",
                json: jsonText(["vector": vector.map(Double.init), "k": 5, "exact": true, "include": ["title"]]))
            #expect(byVector.status == .ok)
            let expected = try collection.searchDocuments(
                collection.prepare(query: vector), k: 5, exact: true)
            #expect(try byVector.decoded(SearchResponse.self).hits.map(\.key) == expected.map(\.key))
            #expect(try byVector.decoded(SearchResponse.self).hits[0].title == expected[0].title)

            let byKey = try await client.send(
                .post, "/v1/collections/docs/search",
                json: #"{"key": "doc-4", "k": 3, "by_document": true, "exact": true}"#)
            #expect(byKey.status == .ok)
            let neighbours = try byKey.decoded(SearchResponse.self).hits
            #expect(neighbours.count == 3 && !neighbours.contains { $0.key == "doc-4" })
            // doc-16 has doc-4's topic (volcano).
            #expect(neighbours[0].key == "doc-16")
        }
    }

    /// Filters in the search body, as Qdrant's JSON or the infix form: every hit matches, text,
    /// vector and key searches alike; a bad filter is a 400 that says what is wrong.
    @Test func filteredSearches() async throws {
        try await withServer { _, client in
            let byText = try await client.send(
                .post, "/v1/collections/docs/search",
                json: #"""
                    {"query": "a mountain of ice", "k": 5, "include": ["metadata"],
                     "filter": {"must": [{"key": "metadata.topic", "match": {"any": ["chess", "bread"]}}],
                                "must_not": [{"key": "metadata.rank", "range": {"lt": 8}}]}}
                    """#)
            #expect(byText.status == .ok, "\(byText.errorMessage)")
            let hits = try byText.decoded(SearchResponse.self).hits
            // Chess (8, 20) and bread (7, 19) documents of rank 8 and above.
            #expect(Set(hits.map(\.key)) == ["doc-8", "doc-19", "doc-20"])
            #expect(hits.allSatisfy { $0.metadata != nil })
            let byKey = try await client.send(
                .post, "/v1/collections/docs/search",
                json:
                    #"{"key": "doc-4", "k": 5, "by_document": true, "where": "metadata.rank >= 20 AND site = example.org"}"#
            )
            #expect(byKey.status == .ok, "\(byKey.errorMessage)")
            #expect(
                Set(try byKey.decoded(SearchResponse.self).hits.map(\.key)) == ["doc-20", "doc-21", "doc-22", "doc-23"])
            let cases: [(String, String)] = [
                (
                    #"{"query": "ice", "filter": {"must": [{"key": "metadata.colour", "match": {"value": "red"}}]}}"#,
                    "\"metadata.colour\" is not indexed"
                ),
                (#"{"query": "ice", "filter": {"must": [{"key": "lang", "mtch": {}}]}}"#, "unknown key \"mtch\""),
                (#"{"query": "ice", "where": "lang = "}"#, "expected a value"),
                (#"{"query": "ice", "where": "lang > de"}"#, "takes matches, not ranges"),
            ]
            for (body, message) in cases {
                let refused = try await client.send(.post, "/v1/collections/docs/search", json: body)
                #expect(
                    refused.status == .badRequest && refused.errorMessage.contains(message), "\(refused.errorMessage)")
            }
        }
    }

    @Test func badSearchesAreRefusedWithTheReason() async throws {
        try await withServer({ $0.maxK = 1000 }) { _, client in
            let search = "/v1/collections/docs/search"
            let cases: [(body: String, status: HTTPResponse.Status, message: String)] = [
                (#"{"query": "volcano", "k": 3"#, .badRequest, "malformed JSON"),
                ("not json", .badRequest, "malformed JSON"),
                (#"{"query": 42}"#, .badRequest, "\"query\" has the wrong type"),
                (#"{"vector": [0.1, 0.2, 0.3]}"#, .badRequest, "has 3 dimensions but the collection has 384"),
                (
                    #"{"vector": ["# + Array(repeating: "0.1", count: 383).joined(separator: ",") + #", NaN]}"#,
                    .badRequest, "malformed JSON"
                ),
                (#"{"query": "volcano", "k": 0}"#, .badRequest, "\"k\" must be between 1 and 1000"),
                (#"{"query": "volcano", "k": 1001}"#, .badRequest, "\"k\" must be between 1 and 1000"),
                (#"{"query": "volcano", "k": -5}"#, .badRequest, "\"k\" must be between 1 and 1000"),
                (#"{"query": "volcano", "nprobe": 99}"#, .badRequest, "nprobe 99 exceeds"),
                (#"{"query": "volcano", "oversample": 0.5}"#, .badRequest, "oversample must be between 1 and"),
                (#"{"query": "volcano", "vector": [1]}"#, .badRequest, "exactly one of"),
                (#"{"k": 3}"#, .badRequest, "exactly one of"),
                (#"{"query": "   "}"#, .badRequest, "empty"),
                (#"{"query": "volcano", "include": ["body"]}"#, .badRequest, "unknown field 'body'"),
                (#"{"key": "no-such-doc"}"#, .notFound, "no document with key 'no-such-doc'"),
            ]
            for (body, status, message) in cases {
                let response = try await client.send(.post, search, json: body)
                #expect(response.status == status, "\(body.prefix(60))")
                #expect(response.errorMessage.contains(message), "\(body.prefix(60)): \(response.errorMessage)")
            }
            // JSON has no NaN or infinity; a number beyond Float's range is refused like them.
            let huge = try await client.send(
                .post, search, json: #"{"vector": [1e39"# + String(repeating: ", 0", count: 383) + "]}")
            #expect(huge.status == .badRequest)
            let unknown = try await client.send(.post, "/v1/collections/nope/search", json: #"{"query": "x"}"#)
            #expect(unknown.status == .notFound && unknown.errorMessage == "no collection named 'nope'")
        }
    }

    // MARK: Documents

    @Test func documentsAreUpsertedReadAndDeleted() async throws {
        try await withServer { _, client in
            let name = "posts-\(UUID().uuidString.prefix(8))"
            #expect(try await client.send(.post, "/v1/collections", json: #"{"name": "\#(name)"}"#).status == .created)
            let records = "/v1/collections/\(name)/documents"
            // A JSON array.
            let array = try await client.send(
                .post, records,
                json: """
                    [{"id": "a", "text": "Lighthouses guide ships along rocky coasts at night.", "title": "Lighthouses"},
                     {"url": "https://example.org/honey", "text": "Bees make honey from the nectar of flowers."},
                     {"id": 7, "text": "Satellites orbit the earth and relay signals.", "metadata": {"kind": "space"}}]
                    """)
            #expect(array.status == .ok, "\(array.errorMessage)")
            #expect(array.object["documents"] as? Int == 3 && array.object["added"] as? Int == 3)
            #expect(array.object["chunks"] as? Int == 3 && array.object["embed_seconds"] is Double)
            // JSON lines: one changed, one unchanged, one new.
            let lines = try await client.send(
                .post, records,
                json: """
                    {"id": "a", "text": "Lighthouses warn ships of rocks and guide them at night.", "title": "Lighthouses"}
                    {"url": "https://example.org/honey", "text": "Bees make honey from the nectar of flowers."}

                    {"id": "b", "text": "A violin has four strings and is played with a bow."}
                    """)
            #expect(lines.status == .ok)
            #expect(lines.object["replaced"] as? Int == 1 && lines.object["unchanged"] as? Int == 1)
            #expect(lines.object["added"] as? Int == 1)

            let stats = try await client.send(.get, "/v1/collections/\(name)")
            #expect(stats.object["documents"] as? Int == 4)

            // A key with slashes, percent-encoded in the path.
            let honeyPath = records + "/https%3A%2F%2Fexample.org%2Fhoney"
            let honey = try await client.send(.get, honeyPath)
            #expect(honey.status == .ok)
            #expect(honey.object["text"] as? String == "Bees make honey from the nectar of flowers.")
            #expect(honey.object["url"] as? String == "https://example.org/honey")
            let seven = try await client.send(.get, records + "/7")
            #expect((seven.object["metadata"] as? [String: Any])?["kind"] as? String == "space")

            let found = try await client.send(
                .post, "/v1/collections/\(name)/search",
                json: #"{"query": "where does honey come from", "k": 1, "include": ["url"]}"#)
            #expect(try found.decoded(SearchResponse.self).hits.first?.url == "https://example.org/honey")

            #expect(try await client.send(.delete, honeyPath).status == .ok)
            #expect(try await client.send(.get, honeyPath).status == .notFound)
            #expect(try await client.send(.delete, honeyPath).status == .notFound)
            #expect(try await client.send(.get, "/v1/collections/\(name)").object["documents"] as? Int == 3)

            let bad: [(String, String)] = [
                (#"[{"id": "x"}]"#, "has no \"text\""),
                (#"[{"text": "no key"}]"#, "no \"id\" or \"url\""),
                ("{\"id\": \"x\", \"text\": \"fine\"}\n{broken", "line 2: malformed JSON"),
                (#"["just a string"]"#, "must be a JSON object"),
                ("[]", "no records"),
            ]
            for (body, message) in bad {
                let response = try await client.send(.post, records, json: body)
                #expect(response.status == .badRequest && response.errorMessage.contains(message), "\(body)")
            }
            #expect(try await client.send(.get, "/v1/collections/\(name)").object["documents"] as? Int == 3)
            #expect(
                try await client.send(.post, "/v1/collections/missing/documents", json: "[]").status == .notFound)
        }
    }

    // MARK: Embeddings

    @Test func embeddingsInEveryEncoding() async throws {
        let texts = ["The quick brown fox.", "Vector search engines index embeddings."]
        let vectors = try fixture.embedder.embed(texts)
        try await withServer { _, client in
            func embed(_ format: String, dimensions: Int? = nil) async throws -> [String: Any] {
                var body: [String: Any] = ["input": texts, "model": "all-MiniLM-L6-v2", "encoding_format": format]
                if let dimensions { body["dimensions"] = dimensions }
                let response = try await client.send(.post, "/v1/embeddings", json: jsonText(body))
                #expect(response.status == .ok, "\(format): \(response.errorMessage)")
                return response.object
            }
            func embeddings(_ object: [String: Any]) -> [Any] {
                (object["data"] as? [[String: Any]] ?? []).map { $0["embedding"] ?? NSNull() }
            }

            let floats = try await embed("float")
            #expect(floats["object"] as? String == "list" && floats["model"] as? String == "all-MiniLM-L6-v2")
            let data = floats["data"] as? [[String: Any]] ?? []
            #expect(data.map { $0["index"] as? Int } == [0, 1] && data[0]["object"] as? String == "embedding")
            let usage = floats["usage"] as? [String: Int] ?? [:]
            #expect(usage["prompt_tokens"] ?? 0 > 10 && usage["prompt_tokens"] == usage["total_tokens"])
            for (returned, expected) in zip(embeddings(floats), vectors) {
                let values = (returned as? [Double] ?? []).map(Float.init)
                #expect(values.count == 384 && zip(values, expected).allSatisfy { abs($0 - $1) < 1e-6 })
            }

            let base64 = embeddings(try await embed("base64"))
            for (returned, expected) in zip(base64, vectors) {
                let bytes = [UInt8](Data(base64Encoded: returned as? String ?? "") ?? Data())
                let values = stride(from: 0, to: bytes.count, by: 4).map { offset in
                    Float(bitPattern: bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
                }
                #expect(values.count == 384 && zip(values, expected).allSatisfy { abs($0 - $1) < 1e-6 })
            }

            let int8 = embeddings(try await embed("int8"))
            let binary = embeddings(try await embed("binary"))
            let ubinary = embeddings(try await embed("ubinary"))
            let base64Int8 = embeddings(try await embed("base64_int8"))
            let base64Binary = embeddings(try await embed("base64_binary"))
            for index in texts.indices {
                let vector = vectors[index]
                #expect(int8[index] as? [Int] == EmbeddingQuantization.int8Tanh(vector).map(Int.init))
                let packed = EmbeddingQuantization.packedBitsMSBFirst(vector)
                #expect(ubinary[index] as? [Int] == packed.map(Int.init) && packed.count == 48)
                #expect(binary[index] as? [Int] == vector.map { $0 >= 0 ? 1 : -1 })
                #expect(
                    Data(base64Encoded: base64Int8[index] as? String ?? "")
                        == Data(EmbeddingQuantization.int8Tanh(vector).map { UInt8(bitPattern: $0) }))
                #expect(
                    Data(base64Encoded: base64Binary[index] as? String ?? "")
                        == Data(EmbeddingQuantization.packedBitsLSBFirst(vector)))
            }

            // Matryoshka: the first 128 components, re-normalised as the model normalises.
            let short = embeddings(try await embed("float", dimensions: 128))
            let expected = Pooling.truncated(vectors[0], dimensions: 128, renormalize: true)
            let values = (short[0] as? [Double] ?? []).map(Float.init)
            #expect(values.count == 128 && zip(values, expected).allSatisfy { abs($0 - $1) < 1e-6 })

            let single = try await client.send(.post, "/v1/embeddings", json: #"{"input": "one text"}"#)
            #expect((single.object["data"] as? [Any])?.count == 1)
        }
    }

    @Test func badEmbeddingRequests() async throws {
        try await withServer { _, client in
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"input": "x", "model": "text-embedding-3-small"}"#, .notFound, "is not served here"),
                (#"{"input": "x", "dimensions": 0}"#, .badRequest, "\"dimensions\" must be between 1 and 384"),
                (#"{"input": "x", "dimensions": 385}"#, .badRequest, "\"dimensions\" must be between 1 and 384"),
                (#"{"input": []}"#, .badRequest, "\"input\" is empty"),
                (#"{"input": ["fine", ""]}"#, .badRequest, "text 1 is empty"),
                (#"{"input": "x", "encoding_format": "float16"}"#, .badRequest, "use float, base64, int8"),
                (#"{"model": "all-MiniLM-L6-v2"}"#, .badRequest, "has no \"input\""),
                (#"{"input": [true]}"#, .badRequest, "\"input\" is invalid: give a text, a list of texts"),
                (#"{"input": [1.5]}"#, .badRequest, "\"input\" is invalid"),
                (#"{"input": [[101, 30522]]}"#, .badRequest, "the id 30522, outside this model's vocabulary of 30522"),
                (#"{"input": [5, -1]}"#, .badRequest, "the id -1"),
                (#"{"input": [[7], []]}"#, .badRequest, "token list 1 is empty"),
                (
                    "{\"input\": [\(Array(repeating: "7", count: 255).joined(separator: ","))]}", .badRequest,
                    "holds 255 tokens; this model takes at most 254"
                ),
                ("{", .badRequest, "malformed JSON"),
            ]
            for (body, status, message) in cases {
                let response = try await client.send(.post, "/v1/embeddings", json: body)
                #expect(
                    response.status == status && response.errorMessage.contains(message),
                    "\(body): \(response.errorMessage)")
            }
        }
    }

    @Test func contextualizedEmbeddings() async throws {
        let documents = [
            ["Curiosity starts with questions.", "It drives exploration.", "Science follows."],
            ["The rover explores Mars.", "Each find raises questions."],
        ]
        let expected = try fixture.embedder.embedContextual(documents)
        try await withServer { _, client in
            let response = try await client.send(
                .post, "/v1/contextualizedembeddings",
                json: jsonText(["input": documents, "model": "all-MiniLM-L6-v2", "encoding_format": "int8"]))
            #expect(response.status == .ok)
            let data = response.object["data"] as? [[String: Any]] ?? []
            #expect(data.count == 2 && data.map { $0["index"] as? Int } == [0, 1])
            #expect(data.allSatisfy { $0["object"] as? String == "list" })
            for (document, chunks) in zip(data, expected) {
                let returned = document["data"] as? [[String: Any]] ?? []
                #expect(returned.count == chunks.count)
                for (index, (item, vector)) in zip(returned, chunks).enumerated() {
                    #expect(item["index"] as? Int == index && item["object"] as? String == "embedding")
                    #expect(item["embedding"] as? [Int] == EmbeddingQuantization.int8Tanh(vector).map(Int.init))
                }
            }
            #expect((response.object["usage"] as? [String: Int])?["total_tokens"] ?? 0 > 10)

            let nested = try await client.send(.post, "/v1/contextualizedembeddings", json: #"{"input": ["flat"]}"#)
            #expect(nested.status == .badRequest)
            let empty = try await client.send(.post, "/v1/contextualizedembeddings", json: #"{"input": [[]]}"#)
            #expect(empty.status == .badRequest && empty.errorMessage.contains("input[0]"))
        }
    }

    // MARK: Limits, auth, metrics

    @Test func oversizedBodiesGet413() async throws {
        try await withServer({ $0.maxBodyBytes = 1024 }) { _, client in
            let body = jsonText(["query": String(repeating: "volcano ", count: 200)])
            let response = try await client.send(.post, "/v1/collections/docs/search", json: body)
            #expect(response.status == .contentTooLarge && response.errorMessage.contains("limit is 1024"))
            let small = try await client.send(.post, "/v1/collections/docs/search", json: #"{"query": "volcano"}"#)
            #expect(small.status == .ok)
        }
    }

    /// With one search thread and a queue of one, a third request while two are held gets 429
    /// at once; once they finish, searches are answered again.
    @Test func fullQueueGets429() async throws {
        try await withServer({
            $0.searchThreads = 1
            $0.maxQueue = 1
        }) { server, client in
            let release = DispatchSemaphore(value: 0)
            let held = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<2 { group.addTask { try await server.searchPool.run { release.wait() } } }
                    try await group.waitForAll()
                }
            }
            while server.searchPool.jobsInFlight < 2 { try await Task.sleep(for: .milliseconds(5)) }
            let refused = try await client.send(.post, "/v1/collections/docs/search", json: #"{"query": "volcano"}"#)
            #expect(refused.status == .tooManyRequests && refused.headers[.retryAfter] == "1")
            #expect(refused.errorMessage.contains("busy"))
            release.signal()
            release.signal()
            try await held.value
            let answered = try await client.send(.post, "/v1/collections/docs/search", json: #"{"query": "volcano"}"#)
            #expect(answered.status == .ok)
        }
    }

    /// Searches do not wait for a write in progress: they run on their own threads.
    @Test func searchesRunWhileAWriteIsInProgress() async throws {
        try await withServer { server, client in
            let release = DispatchSemaphore(value: 0)
            let write = Task { try await server.writePool.run { release.wait() } }
            while server.writePool.jobsInFlight < 1 { try await Task.sleep(for: .milliseconds(5)) }
            let search = try await client.send(.post, "/v1/collections/docs/search", json: #"{"query": "chess"}"#)
            #expect(search.status == .ok)
            release.signal()
            try await write.value
        }
    }

    @Test func bearerTokenAuth() async throws {
        try await withServer({ $0.apiKey = "s3cret" }) { _, client in
            #expect(try await client.send(.get, "/healthz").status == .ok)
            #expect(try await client.send(.get, "/").status == .ok)
            for (method, uri) in [
                (HTTPRequest.Method.get, "/v1/collections"), (.get, "/metrics"), (.get, "/v1/collections/docs"),
                (.post, "/v1/collections/docs/search"), (.post, "/v1/embeddings"),
                (.get, "/v1/collections/docs/documents/doc-1"),
            ] {
                let anonymous = try await client.send(method, uri, json: #"{"query": "x"}"#)
                #expect(anonymous.status == .unauthorized, "\(uri)")
                #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
                let wrong = try await client.send(
                    method, uri, json: #"{"query": "x"}"#, headers: [.authorization: "Bearer s3cre"])
                #expect(wrong.status == .unauthorized, "\(uri)")
            }
            let allowed = try await client.send(.get, "/v1/collections", headers: [.authorization: "Bearer s3cret"])
            #expect(allowed.status == .ok)
            let search = try await client.send(
                .post, "/v1/collections/docs/search", json: #"{"query": "bread"}"#,
                headers: [.authorization: "Bearer s3cret"])
            #expect(search.status == .ok)
        }
        // Without a key every route is open.
        try await withServer { _, client in
            let open = try await client.send(.get, "/v1/collections/docs/documents/doc-1")
            #expect(open.status == .ok)
        }
    }

    @Test func metricsCountRequestsAndDescribeCollections() async throws {
        try await withServer { _, client in
            for _ in 0..<3 {
                _ = try await client.send(.post, "/v1/collections/docs/search", json: #"{"query": "tennis"}"#)
            }
            _ = try await client.send(.post, "/v1/collections/docs/search", json: #"{"query": "x", "k": 0}"#)
            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok && response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: response.body)
            let search = #"route="/v1/collections/{name}/search""#
            #expect(text.contains(#"quarry_http_requests_total{\#(search),method="POST",status="200"} 3"#))
            #expect(text.contains(#"quarry_http_requests_total{\#(search),method="POST",status="400"} 1"#))
            #expect(
                text.contains(#"quarry_http_request_duration_seconds_bucket{\#(search),method="POST",le="+Inf"} 4"#))
            #expect(text.contains(#"quarry_collection_documents{collection="docs"} \#(Fixture.documentCount)"#))
            #expect(text.contains(#"quarry_collection_vectors{collection="docs"} \#(Fixture.documentCount)"#))
            #expect(text.contains(#"quarry_collection_index_bytes{collection="docs"}"#))
        }
    }
}
