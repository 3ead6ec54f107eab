import Foundation
import Hummingbird
import HummingbirdTesting
import Quarry
@testable import QuarryEmbed
import QuarryTestSupport
import Testing

@testable import QuarryServer

/// The real `quarry` binary, built with the tests.
let quarryBinary = repositoryRoot.appendingPathComponent(".build/debug/quarry").path

/// Runs `quarry ARGUMENTS`.
func quarry(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
    try #require(FileManager.default.isExecutableFile(atPath: quarryBinary), "build the quarry product first")
    let outcome = try await runProcess(quarryBinary, arguments)
    return (outcome.status, outcome.output, outcome.errors)
}

/// A fresh directory under the system's temporary directory, removed when the value is.
final class ScratchDirectory: Sendable {
    let path = NSTemporaryDirectory() + "quarry-remote-test-\(getpid())-\(UUID().uuidString)"
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// `Tests/Scripts/fake_embedder.py` running on loopback, answering as its options script.
final class FakeEmbedder: Sendable {
    let port: Int
    private let child: ChildProcess

    private init(child: ChildProcess, port: Int) {
        self.child = child
        self.port = port
    }

    /// Starts the script with `options` on `port` (0: a free one) and waits until it listens.
    static func start(_ options: [String] = [], port: Int = 0) async throws -> FakeEmbedder {
        let script = repositoryRoot.appendingPathComponent("Tests/Scripts/fake_embedder.py").path
        let child = try ChildProcess(try python3(), [script, "--port", "\(port)"] + options)
        // It prints the port it listens on.
        let firstLine = await child.output(containing: "\n")
        guard let port = Int(firstLine.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw QuarryServerTestError("the fake embedder did not start")
        }
        return FakeEmbedder(child: child, port: port)
    }

    var url: String { "http://127.0.0.1:\(port)/v1/embeddings" }

    /// Stops the server (if it has not exited itself) and returns its request log.
    func stop() async -> [String] {
        // SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM.
        child.send(SIGKILL)
        return await child.finish().errors.split(separator: "\n").map(String.init)
    }
}

@Suite struct RemoteEmbedderTests {
    let scratch: ScratchDirectory
    init() throws { scratch = try ScratchDirectory() }

    /// `count` records of the sample corpus written to a JSONL file.
    private func sampleCorpus(count: Int) throws -> String {
        let corpus = repositoryRoot.appendingPathComponent("data/debian-packages/corpus.jsonl").path
        let lines = try readLines(corpus, count: count)
        let path = scratch.path + "/sample.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func readLines(_ path: String, count: Int) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Array(text.split(separator: "\n").prefix(count).map(String.init))
    }

    /// Short one-chunk records.
    private func shortRecords(count: Int) throws -> String {
        let lines = sampleRecords(count: count, prefix: "short").map { record in
            String(decoding: try! JSONEncoder().encode(["id": record.key, "text": record.text]), as: UTF8.self)
        }
        let path = scratch.path + "/short.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private struct SearchOutput: Decodable {
        var hits: [DocumentHit]
    }

    private func search(_ collection: String, _ text: String, extra: [String] = []) async throws -> [DocumentHit] {
        let result = try await quarry(["search", collection, "--text", text, "--json", "-k", "5", "--exact"] + extra)
        try #require(result.status == 0, "search failed: \(result.error)")
        return try JSONDecoder().decode(SearchOutput.self, from: Data(result.output.utf8)).hits
    }

    private func stats(_ collection: String) async throws -> CollectionStats {
        let result = try await quarry(["stats", collection, "--json"])
        try #require(result.status == 0, "stats failed: \(result.error)")
        return try JSONDecoder().decode(CollectionStats.self, from: Data(result.output.utf8))
    }

    private func report(_ output: String) throws -> DocumentIngestReport {
        try JSONDecoder().decode(DocumentIngestReport.self, from: Data(output.utf8))
    }

    /// One `quarry serve` embeds, a second process ingests through it: the collection searches
    /// as one ingested with the same model locally; a server that embeds through the first
    /// searches it too, and refuses a text search of a collection built with another backend.
    @Test func ingestThroughAServerEqualsALocalIngest() async throws {
        let docs = try sampleCorpus(count: 40)
        let local = scratch.path + "/local"
        let remote = scratch.path + "/remote"
        let common = ["--docs", docs, "--batch-size", "16", "--training-documents", "16", "--json"]
        // F32 weights, as the in-process server (ServerConfiguration's default) embeds with.
        let localRun = try await quarry(["ingest", local, "--model", miniLMPath, "--weights", "f32"] + common)
        try #require(localRun.status == 0, "local ingest failed: \(localRun.error)")
        let localReport = try report(localRun.output)
        let queries = ["assembler for 6502 processors", "text editor", "network monitoring tool"]

        try await withServer { _, client in
            let port = try #require(client.port)
            let endpoint = "http://127.0.0.1:\(port)/v1/embeddings"
            let remoteRun = try await quarry(
                ["ingest", remote, "--embedder", endpoint, "--tokenizer", miniLMPath, "--embedder-concurrency", "3"]
                    + common)
            try #require(remoteRun.status == 0, "remote ingest failed: \(remoteRun.error)")
            let remoteReport = try report(remoteRun.output)
            #expect(remoteReport.documents == 40 && remoteReport.added == 40)
            #expect(remoteReport.chunks == localReport.chunks && remoteReport.tokens == localReport.tokens)
            // Progress with tokens/s, documents/s and the ETA went to stderr.
            #expect(remoteRun.error.contains("documents/s") && remoteRun.error.contains("tokens/s"))
            #expect(remoteRun.error.contains("(100% of 40, ETA 0h00m00s)"))
            let recorded = try await stats(remote).model ?? ""
            #expect(recorded == "remote:openai \(endpoint)")

            for query in queries {
                let expected = try await search(local, query, extra: ["--weights", "f32"])
                let found = try await search(remote, query, extra: ["--tokenizer", miniLMPath])
                #expect(expected.count == 5)
                #expect(found.map(\.key) == expected.map(\.key), "\(query)")
                #expect(
                    zip(found, expected).allSatisfy { abs($0.score - $1.score) < 2e-3 }, "\(query)")
            }

            // A server that embeds through the first one serves both collections' searches
            // only where the backend matches.
            var configuration = ServerConfiguration(dataDirectory: scratch.path, modelDirectory: miniLMPath)
            configuration.port = 0
            configuration.embedder = try RemoteEmbedderSettings(endpoint: endpoint)
            let second = try QuarryServer(configuration: configuration)
            defer { second.stop() }
            #expect(second.embedder.dimension == 384 && second.embedder.normalizes)
            try await second.application().test(.live) { other in
                let expected = try await search(local, queries[0], extra: ["--weights", "f32"])
                let found = try await other.send(
                    .post, "/v1/collections/remote/search",
                    json: jsonText(["query": queries[0], "k": 5, "exact": true]))
                let hits = try found.decoded(SearchResponse.self).hits
                #expect(found.status == .ok && hits.map(\.key) == expected.map(\.key))
                let refused = try await other.send(
                    .post, "/v1/collections/local/search", json: jsonText(["query": queries[0]]))
                #expect(refused.status == .badRequest && refused.errorMessage.contains("was built with the model at"))
                let models = try await other.send(.get, "/v1/models")
                #expect((models.object["data"] as? [[String: Any]])?.first?["id"] as? String == "all-MiniLM-L6-v2")
            }
        }
    }

    private let fakeOptions = [
        "--batch-size", "8", "--training-documents", "8", "--embedder-batch-texts", "4", "--embedder-concurrency",
        "1", "--embedder-tries", "3", "--embedder-backoff", "0.05", "--json",
    ]

    /// Runs an ingest of `docs` into `collection` through `fake` that fails with `message`,
    /// then resumes it through a healthy server on the same port: the committed batches are
    /// kept and skipped, the rest added.
    private func failThenResume(_ failing: [String], message: String, documents: Int = 40) async throws {
        let docs = try shortRecords(count: documents)
        let collection = scratch.path + "/fake"
        let fake = try await FakeEmbedder.start(failing)
        let arguments = ["ingest", collection, "--docs", docs, "--tokenizer", miniLMPath] + fakeOptions
        let failed = try await quarry(arguments + ["--embedder", fake.url])
        _ = await fake.stop()
        #expect(failed.status != 0)
        #expect(failed.error.contains(message), "\(failed.error)")
        let partial = try await stats(collection)
        #expect(partial.documents > 0 && partial.documents < documents && partial.documents % 8 == 0)
        #expect(partial.vectors == partial.documents && partial.dimension == 8)

        let healthy = try await FakeEmbedder.start(port: fake.port)
        // The re-run needs no --embedder: the collection recorded it.
        let resumed = try await quarry(arguments)
        _ = await healthy.stop()
        try #require(resumed.status == 0, "resume failed: \(resumed.error)")
        let resumedReport = try report(resumed.output)
        #expect(resumedReport.unchanged == partial.documents && resumedReport.added == documents - partial.documents)
        #expect(try await stats(collection).documents == documents)
    }

    @Test func anEndpointThatGoesDownStopsTheIngestAndARerunResumes() async throws {
        // The probe and five answers: two batches of two requests, then the server is gone.
        try await failThenResume(["--exit-after", "6"], message: "could not be reached (3 tries)")
    }

    @Test func permanentHTTP500StopsTheIngestAndARerunResumes() async throws {
        try await failThenResume(["--fail-after", "6"], message: "answered HTTP 500 (3 tries)")
    }

    @Test func aWrongDimensionIsRefusedBeforeItIsStored() async throws {
        try await failThenResume(["--wrong-dimension-after", "6"], message: "has 7 dimensions; expected 8")
    }

    @Test func http429IsRetriedUntilItSucceedsOnTEI() async throws {
        let docs = try shortRecords(count: 16)
        let collection = scratch.path + "/retried"
        // The probe succeeds; the next two requests get 429, the third try succeeds. Through
        // TEI's native route this time.
        let fake = try await FakeEmbedder.start(["--statuses", "200,429,429"])
        let endpoint = "http://127.0.0.1:\(fake.port)/embed"
        let run = try await quarry(
            ["ingest", collection, "--docs", docs, "--tokenizer", miniLMPath, "--embedder", endpoint] + fakeOptions)
        let log = await fake.stop()
        try #require(run.status == 0, "ingest failed: \(run.error)")
        #expect(try report(run.output).added == 16)
        #expect(log.filter { $0.hasSuffix(": 429") }.count == 2)
        let stats = try await stats(collection)
        #expect(stats.documents == 16 && stats.model == "remote:tei \(endpoint)")
    }

    @Test func remoteAnswersAreChecked() throws {
        let settings = RemoteEmbedderSettings(url: URL(string: "http://127.0.0.1:1/v1/embeddings")!)
        func check(_ json: String, count: Int = 2) -> String {
            do {
                _ = try RemoteEmbedder.vectors(
                    in: Data(json.utf8), count: count, settings: settings, expectedDimension: 2)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(
            check(#"{"data": [{"index": 1, "embedding": [1, 0]}, {"index": 0, "embedding": [0, 1]}]}"#) == "accepted")
        #expect(check(#"[[1, 0], [0, 1]]"#) == "accepted")
        #expect(check(#"{"data": [{"index": 0, "embedding": [1, 0]}]}"#).contains("1 embeddings for 2 inputs"))
        #expect(check(#"[[1, 0], [0, 1, 2]]"#).contains("embedding 1 has 3 dimensions; expected 2"))
        #expect(
            check(#"{"data": [{"index": 0, "embedding": [1, 0]}, {"index": 0, "embedding": [1, 0]}]}"#)
                .contains("out of range or repeated"))
        #expect(check(#"[[1, 0], [0, "x"]]"#).contains("embedding 1 is missing or malformed"))
        // 1e39 overflows Float to infinity.
        #expect(check(#"[[1, 0], [0, 1e39]]"#).contains("non-finite"))
        #expect(check("not json").contains("not JSON"))
        #expect(
            RemoteEmbedder.requestRanges(lengths: [5, 5, 5, 20, 1, 1, 1], tokenLimit: 12, textLimit: 2)
                == [0..<2, 2..<3, 3..<4, 4..<6, 6..<7])
        let identity = try RemoteEmbedderSettings(
            endpoint: "http://gpu:8080/embed", model: "BAAI/bge-m3", dimensions: 256)
        #expect(identity.api == .tei)
        #expect(try RemoteEmbedderSettings(identity: identity.identity) == identity)
    }
}
