import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Quarry
import QuarryEmbed
import Testing

@testable import QuarryServer

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let miniLMPath = repositoryRoot.appendingPathComponent("data/models/all-MiniLM-L6-v2").standardizedFileURL.path

/// A data directory with one collection, "docs", of 24 short documents embedded with
/// all-MiniLM-L6-v2, made once for all tests (they fail, with the reason, when the model is
/// missing).
struct Fixture: Sendable {
    let dataDirectory: String
    let embedder: Embedder
    static let documentCount = 24

    /// Removed when the test process exits.
    static let directory = NSTemporaryDirectory() + "quarry-server-test-\(getpid())"

    static let shared: Result<Fixture, any Error> = Result {
        guard FileManager.default.fileExists(atPath: miniLMPath + "/config.json") else {
            throw QuarryError.invalidArgument("\(miniLMPath) is missing: run scripts/setup.sh first")
        }
        let embedder = try Embedder(modelDirectory: URL(fileURLWithPath: miniLMPath))
        try? FileManager.default.removeItem(atPath: directory)
        atexit { try? FileManager.default.removeItem(atPath: Fixture.directory) }
        let collection = try QuarryCollection.create(
            at: directory + "/docs", dimension: embedder.dimension, listCount: 4)
        try collection.ingestDocuments(sampleRecords(count: documentCount), embedder: embedder, modelPath: miniLMPath)
        return Fixture(dataDirectory: directory, embedder: embedder)
    }

    static func get() throws -> Fixture { try shared.get() }
}

/// Short documents on distinct topics.
func sampleRecords(count: Int, prefix: String = "doc") -> [CrawlRecord] {
    let topics = [
        "compiler", "database", "garden", "violin", "volcano", "bicycle", "astronomy", "bread", "chess", "glacier",
        "printer", "orchestra",
    ]
    return (0..<count).map { index in
        let topic = topics[index % topics.count]
        return CrawlRecord(
            key: "\(prefix)-\(index)",
            text:
                "Document \(index) is about the \(topic). It explains how a \(topic) works, why people care about the \(topic), and what to read next about \(topic)s.",
            title: "All about \(topic) \(index)", url: "https://example.org/\(prefix)/\(index)",
            metadata: .object(["topic": .string(topic), "rank": .number(Double(index))]))
    }
}

/// Starts a real server on a free loopback port over the fixture's data directory and runs
/// `body` with a client connected to it.
func withServer<T>(
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (QuarryServer, any TestClientProtocol) async throws -> T
) async throws -> T {
    let fixture = try Fixture.get()
    var configuration = ServerConfiguration(dataDirectory: fixture.dataDirectory, modelDirectory: miniLMPath)
    configuration.port = 0
    configure(&configuration)
    let server = try QuarryServer(configuration: configuration)
    defer { server.stop() }
    return try await server.application().test(.live) { client in try await body(server, client) }
}

extension TestClientProtocol {
    /// Sends a JSON body (an Encodable value or raw text) and returns the response.
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var fields = headers
        if json != nil { fields[.contentType] = "application/json" }
        return try await execute(
            uri: uri, method: method, headers: fields, body: json.map { ByteBuffer(string: $0) })
    }
}

/// Encodes a request body.
func jsonText(_ value: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
}

extension TestResponse {
    /// The body parsed as a JSON object.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
    }

    /// The `error` message of an error response.
    var errorMessage: String { object["error"] as? String ?? "" }

    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(body.readableBytesView))
    }
}
