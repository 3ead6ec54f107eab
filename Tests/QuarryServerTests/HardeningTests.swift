import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import QuarryTestSupport
import Testing

@testable import Quarry
@testable import QuarryServer

/// What a hostile or careless client sends: nothing it sends takes the server down, and each
/// answer carries the status of its error's kind.
@Suite(.serialized) struct HardeningTests {
    init() throws { _ = try Fixture.get() }

    @Test func aDocumentWithoutWordsIsStoredAndDoesNotTrapTraining() async throws {
        try await withServer { _, client in
            let name = "blank-\(UUID().uuidString.prefix(8))"
            #expect(try await client.send(.post, "/v1/collections", json: #"{"name": "\#(name)"}"#).status == .created)
            let records = "/v1/collections/\(name)/documents"
            let blank = try await client.send(.post, records, json: #"[{"id": "a", "text": " "}]"#)
            #expect(blank.status == .ok, "\(blank.errorMessage)")
            #expect(blank.object["documents"] as? Int == 1 && blank.object["chunks"] as? Int == 0)
            #expect(try await client.send(.get, "/healthz").status == .ok)
            #expect(try await client.send(.get, "\(records)/a").status == .ok)
            // The next batch with words trains the index; the blank document stays.
            let words = try await client.send(
                .post, records, json: #"[{"id": "b", "text": "Glaciers form where snow outlasts the summer."}]"#)
            #expect(words.status == .ok && words.object["chunks"] as? Int == 1, "\(words.errorMessage)")
            let found = try await client.send(
                .post, "/v1/collections/\(name)/search", json: #"{"query": "how glaciers form", "k": 5}"#)
            let hits = try found.decoded(SearchResponse.self).hits
            #expect(hits.map(\.key) == ["b"])
            #expect(try await client.send(.delete, "\(records)/a").status == .ok)
            #expect(try await client.send(.get, "\(records)/a").status == .notFound)
        }
    }

    @Test func everyKeyThatCanBeWrittenCanBeReadAndDeleted() async throws {
        try await withServer { _, client in
            let name = "keys-\(UUID().uuidString.prefix(8))"
            #expect(try await client.send(.post, "/v1/collections", json: #"{"name": "\#(name)"}"#).status == .created)
            let longest = String(repeating: "é/ ?#%", count: 60).utf8.prefix(QuarryCollection.maxDocumentKeyBytes)
            let keys = [
                String(decoding: longest, as: UTF8.self), "a/b/c", "100% sure?", "#fragment", "..", "ключ 🔑",
            ]
            let records = keys.enumerated().map { index, key in
                ["id": key, "text": "Stored document number \(index) about rivers and their deltas."]
            }
            let body = String(decoding: try JSONSerialization.data(withJSONObject: records), as: UTF8.self)
            let ingest = try await client.send(.post, "/v1/collections/\(name)/documents", json: body)
            #expect(ingest.status == .ok, "\(ingest.errorMessage)")
            for key in keys {
                let path =
                    "/v1/collections/\(name)/documents/"
                    + key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let read = try await client.send(.get, path)
                #expect(read.status == .ok && read.object["key"] as? String == key, "\(key.prefix(20))")
                #expect(try await client.send(.delete, path).status == .ok, "\(key.prefix(20))")
                #expect(try await client.send(.get, path).status == .notFound)
            }
            let stats = try await client.send(.get, "/v1/collections/\(name)")
            #expect(stats.object["documents"] as? Int == 0 && stats.object["vectors"] as? Int == 0)
        }
    }

    @Test func numbersPastTheirBoundsAreRefused() async throws {
        try await withServer { _, client in
            let search = "/v1/collections/docs/search"
            for body in [
                #"{"query": "volcano", "oversample": 1e300}"#, #"{"query": "volcano", "oversample": 1e9}"#,
                #"{"query": "volcano", "nprobe": 9223372036854775807}"#, #"{"query": "volcano", "nprobe": -1}"#,
                #"{"query": "volcano", "k": 9223372036854775807}"#, #"{"query": "volcano", "k": 1e300}"#,
                #"{"query": "volcano", "k": 1.5}"#,
            ] {
                let response = try await client.send(.post, search, json: body)
                #expect(response.status == .badRequest, "\(body): \(response.status) \(response.errorMessage)")
            }
            for body in [
                #"{"name": "big-dims", "dims": 1000000}"#, #"{"name": "zero-dims", "dims": 0}"#,
                #"{"name": "many-lists", "nlist": 1000000000}"#, #"{"name": "no-lists", "nlist": -3}"#,
            ] {
                let response = try await client.send(.post, "/v1/collections", json: body)
                #expect(response.status == .badRequest, "\(body): \(response.status) \(response.errorMessage)")
            }
            let names = try await client.send(.get, "/v1/collections").object["collections"] as? [[String: Any]]
            #expect(names?.contains { ($0["name"] as? String ?? "").hasSuffix("-dims") } == false)
            #expect(try await client.send(.get, "/healthz").status == .ok)
        }
    }

    @Test func aHugeKeyIsNotFoundWithAShortMessage() async throws {
        try await withServer { _, client in
            let key = String(repeating: "k", count: 1 << 20)
            let search = try await client.send(
                .post, "/v1/collections/docs/search", json: #"{"key": "\#(key)", "k": 3}"#)
            #expect(search.status == .notFound)
            #expect(search.errorMessage.utf8.count < 300 && search.errorMessage.contains("1048576 bytes"))
            let longPath = "/v1/collections/docs/documents/" + String(repeating: "p", count: 4000)
            #expect(try await client.send(.get, longPath).status == .notFound)
            #expect(try await client.send(.delete, longPath).status == .notFound)
        }
    }

    @Test func postsWithoutAJSONContentTypeGet415AndChangeNothing() async throws {
        try await withServer { _, client in
            let name = "from-a-page-\(UUID().uuidString.prefix(8))"
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", nil] {
                var headers: HTTPFields = [:]
                if let type { headers[.contentType] = type }
                let response = try await client.execute(
                    uri: "/v1/collections", method: .post, headers: headers,
                    body: ByteBuffer(string: #"{"name": "\#(name)"}"#))
                #expect(response.status == .unsupportedMediaType, "\(type ?? "no type")")
            }
            #expect(try await client.send(.get, "/v1/collections/\(name)").status == .notFound)
            let typed = try await client.execute(
                uri: "/v1/collections/docs/search", method: .post,
                headers: [.contentType: "application/json; charset=utf-8"],
                body: ByteBuffer(string: #"{"query": "volcano", "k": 2}"#))
            #expect(typed.status == .ok)
            // No permissive CORS: a preflight is not granted.
            let preflight = try await client.execute(
                uri: "/v1/collections", method: .options,
                headers: [
                    HTTPField.Name("Origin")!: "https://evil.example",
                    HTTPField.Name("Access-Control-Request-Method")!: "POST",
                ])
            #expect(preflight.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil)
        }
    }

    @Test func foreignHostHeadersAreRefused() async throws {
        try await withServer { _, client in
            let port = try #require(client.port)
            let evil = try await sendRaw(rawRequest("GET", "/v1/collections", host: "evil.example"), port: port)
            #expect(evil.status == 421, "\(evil.text.prefix(200))")
            let rebound = try await sendRaw(
                rawRequest("GET", "/v1/collections", host: "evil.example:\(port)"), port: port)
            #expect(rebound.status == 421)
            for host in ["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)", "localhost"] {
                let fine = try await sendRaw(rawRequest("GET", "/v1/collections", host: host), port: port)
                #expect(fine.status == 200, "\(host)")
            }
        }
        try await withServer({ $0.allowedHosts = ["search.internal"] }) { _, client in
            let port = try #require(client.port)
            let named = try await sendRaw(rawRequest("GET", "/healthz", host: "search.internal:\(port)"), port: port)
            #expect(named.status == 200)
        }
    }

    @Test func chunkedBodiesObeyTheBodyLimit() async throws {
        try await withServer({ $0.maxBodyBytes = 4096 }) { _, client in
            let port = try #require(client.port)
            var body: [UInt8] = []
            let piece = Array(String(repeating: "x", count: 1000).utf8)
            for _ in 0..<10 { body += Array("3e8\r\n".utf8) + piece + Array("\r\n".utf8) }
            body += Array("0\r\n\r\n".utf8)
            let response = try await sendRaw(
                rawRequest(
                    "POST", "/v1/embeddings",
                    headers: ["Content-Type: application/json", "Transfer-Encoding: chunked"], body: body),
                port: port)
            #expect(response.status == 413, "\(response.text.prefix(300))")
            #expect(try await client.send(.get, "/healthz").status == .ok)
        }
    }

    @Test func searchAnswersAreBoundedInSize() async throws {
        try await withServer({ $0.maxResponseBytes = 2_000 }) { _, client in
            let search = "/v1/collections/docs/search"
            let large = try await client.send(
                .post, search, json: #"{"query": "volcano", "k": 20, "include": ["text", "metadata"]}"#)
            #expect(large.status == .contentTooLarge, "\(large.errorMessage)")
            #expect(large.errorMessage.contains("fewer hits"))
            let small = try await client.send(.post, search, json: #"{"query": "volcano", "k": 2, "include": ["url"]}"#)
            #expect(small.status == .ok)
        }
    }

    @Test func inFlightBodiesShareOneBudget() {
        let budget = ByteBudget(limit: 100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(41))
        #expect(budget.reserve(40))
        budget.release(60)
        #expect(budget.reserve(60) && !budget.reserve(1))
    }

    @Test func allowedHostsAdmitLoopbackAndTheListenAddress() {
        let loopback = AllowedHosts(listenHost: "127.0.0.1", extra: [])
        #expect(loopback.admits(authority: "localhost:8080") && loopback.admits(authority: "[::1]:1"))
        #expect(loopback.admits(authority: "app.localhost"))
        #expect(!loopback.admits(authority: "10.0.0.5:8080") && !loopback.admits(authority: "evil.example"))
        let everywhere = AllowedHosts(listenHost: "0.0.0.0", extra: ["search.example.org"])
        #expect(everywhere.admits(authority: "10.0.0.5:8080") && everywhere.admits(authority: "SEARCH.example.org"))
        #expect(!everywhere.admits(authority: "evil.example"))
        #expect(AllowedHosts(listenHost: "127.0.0.1", extra: ["*"]).admits(authority: "anything"))
    }

    @Test func corruptRecordsAnswer500WithoutServerPaths() async throws {
        let fixture = try Fixture.get()
        let name = "damaged-\(UUID().uuidString.prefix(8))"
        let collection = try QuarryCollection.create(
            at: fixture.dataDirectory + "/" + name, dimension: fixture.embedder.dimension, listCount: 2)
        try collection.ingestDocuments(
            sampleRecords(count: 4, prefix: "d"), embedder: fixture.embedder, modelPath: miniLMPath)
        try collection.environment.write { txn in
            try txn.put(collection.databases.docs, key: Array("d-1".utf8), value: Array("not zstd at all".utf8))
        }
        try await withServer { _, client in
            let response = try await client.send(.get, "/v1/collections/\(name)/documents/d-1")
            #expect(response.status == .internalServerError)
            #expect(response.errorMessage.contains("damaged") && response.errorMessage.contains(name))
            #expect(!response.errorMessage.contains(fixture.dataDirectory), "\(response.errorMessage)")
            #expect(try await client.send(.get, "/v1/collections/\(name)/documents/d-2").status == .ok)
        }
    }
}

/// A short run of the hostile-client harness against the debug `quarry serve` binary (the full
/// run: `python3 scripts/harness/hostile_client.py --requests 20000`).
@Suite struct HostileClientHarnessTests {
    @Test func aShortHostileRunLeavesTheServerHealthyAndLosesNothing() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: quarryBinary), "build the quarry product first")
        let run = try await runProcess(
            "/usr/bin/env",
            [
                "python3", repositoryRoot.appendingPathComponent("scripts/harness/hostile_client.py").path,
                "--binary", quarryBinary, "--model", miniLMPath, "--requests", "120", "--documents", "8", "--seed",
                "7",
            ])
        let text = run.output
        #expect(run.status == 0, "\(text.suffix(2000))")
        let summary = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(summary?["requests"] as? Int == 120)
        #expect(summary?["seeded_documents_intact"] as? Int == 8)
        #expect((summary?["failures"] as? [Any])?.isEmpty == true)
    }
}
