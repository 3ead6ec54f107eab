import Foundation
import Hummingbird
import HummingbirdTesting
import QuarryEmbed
import QuarryTestSupport
import Testing

@testable import QuarryServer

/// `python3` from the PATH.
func python3() throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/python3"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw QuarryServerTestError("python3 is not on the PATH")
}

struct QuarryServerTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite struct OpenAIClientTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture.get() }

    private func floats(_ value: Any?) -> [[Float]] {
        (value as? [[Double]] ?? []).map { $0.map(Float.init) }
    }

    private func close(_ a: [[Float]], _ b: [[Float]], tolerance: Float = 1e-5) -> Bool {
        a.count == b.count
            && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) < tolerance } }
    }

    /// The official OpenAI Python client against a live server: the model list and lookup,
    /// embeddings as floats and base64, Matryoshka dimensions and token-id input.
    @Test func theOpenAIPythonClientWorksAgainstTheServer() async throws {
        let texts = ["The quick brown fox.", "Vector search engines index embeddings."]
        let embedder = fixture.embedder
        let expected = try embedder.embed(texts)
        let tokenIDs = texts.map { embedder.tokenizer.encode($0).map(Int.init) }
        let script = repositoryRoot.appendingPathComponent("Tests/Scripts/openai_client_check.py").path
        let tokenJSON = String(decoding: try JSONSerialization.data(withJSONObject: tokenIDs), as: UTF8.self)
        let python = try python3()

        let result = try await withServer { _, client in
            let port = try #require(client.port)
            return try await runProcess(
                python, [script, "http://127.0.0.1:\(port)/v1", "all-MiniLM-L6-v2", tokenJSON] + texts)
        }
        try #require(result.status == 0, "the client script failed: \(result.errors)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])

        let models = object["models"] as? [[String: Any]] ?? []
        #expect(models.count == 1)
        #expect(models.first?["id"] as? String == "all-MiniLM-L6-v2")
        #expect(models.first?["object"] as? String == "model" && models.first?["owned_by"] as? String == "quarry")
        #expect((models.first?["created"] as? Int ?? 0) > 0)
        #expect(object["retrieved"] as? String == "all-MiniLM-L6-v2")
        #expect(object["model"] as? String == "all-MiniLM-L6-v2")
        #expect(object["prompt_tokens"] as? Int ?? 0 > 10)

        let float = floats(object["float"])
        #expect(close(float, expected))
        // base64 carries the float32 bits exactly; the client's default asks for base64 too.
        #expect(floats(object["base64"]) == float)
        #expect(close(floats(object["default"]), expected))
        let truncated = expected.map { Pooling.truncated($0, dimensions: 128, renormalize: true) }
        #expect(close(floats(object["dimensions"]), truncated))
        // Token ids are embedded as given, the tokenizer's [CLS] and [SEP] added around them.
        #expect(close(floats(object["tokens"]), expected))
        #expect(close(floats(object["single_tokens"]), [expected[0]]))
    }
}

@Suite struct ModelNamingTests {
    private func directory(named name: String, config: [String: Any]) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("quarry-naming-\(getpid())-\(UUID().uuidString)").appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config).write(to: url.appendingPathComponent("config.json"))
        return url
    }

    @Test func aGenericDirectoryIsNamedFromItsConfig() throws {
        let named = try directory(named: "model", config: ["_name_or_path": "BAAI/bge-small-en-v1.5"])
        #expect(defaultModelName(directory: named) == "BAAI/bge-small-en-v1.5")
        let localPath = try directory(named: "model", config: ["_name_or_path": "/home/me/e5-small"])
        #expect(defaultModelName(directory: localPath) == "e5-small")
        let nameless = try directory(named: "model", config: [:])
        #expect(defaultModelName(directory: nameless) == "model")
        // A specific directory name wins over the config's (often the base model's) name.
        let specific = try directory(
            named: "all-MiniLM-L6-v2", config: ["_name_or_path": "nreimers/MiniLM-L6-H384-uncased"])
        #expect(defaultModelName(directory: specific) == "all-MiniLM-L6-v2")
        let snapshot = try directory(
            named: "models--intfloat--e5-small-v2/snapshots/ffb93f3bd4047442299a41ebb6fa998a38507c52", config: [:])
        #expect(defaultModelName(directory: snapshot) == "intfloat/e5-small-v2")
    }

    @Test func theServedNameComesFromTheFlag() async throws {
        try await withServer({ $0.modelName = "acme/minilm" }) { _, client in
            let list = try await client.send(.get, "/v1/models")
            let data = list.object["data"] as? [[String: Any]] ?? []
            #expect(list.status == .ok && list.object["object"] as? String == "list")
            #expect(data.map { $0["id"] as? String } == ["acme/minilm"])
            let one = try await client.send(.get, "/v1/models/acme/minilm")
            #expect(one.status == .ok && one.object["id"] as? String == "acme/minilm")
            let other = try await client.send(.get, "/v1/models/all-MiniLM-L6-v2")
            #expect(other.status == .notFound && other.errorMessage.contains("serves 'acme/minilm'"))
            let embedded = try await client.send(
                .post, "/v1/embeddings", json: #"{"input": "a text", "model": "acme/minilm"}"#)
            #expect(embedded.status == .ok && embedded.object["model"] as? String == "acme/minilm")
        }
    }
}
