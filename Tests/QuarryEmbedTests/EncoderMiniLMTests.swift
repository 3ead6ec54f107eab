import Foundation
import Testing

@testable import QuarryEmbed

/// all-MiniLM-L6-v2 (data/models, from scripts/setup.sh) against sentence-transformers on
/// 1,000 Debian texts (scripts/reference/make_minilm_reference.py).
@Suite struct EncoderMiniLMTests {
    static let modelDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/models/all-MiniLM-L6-v2")

    /// Rows of a little-endian float32 `.npy` matrix.
    private func readFloat32Matrix(_ url: URL, columns: Int) throws -> [[Float]] {
        let data = try Data(contentsOf: url)
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<10 + headerLength], as: UTF8.self)
        #expect(header.contains("'<f4'") && header.contains(", \(columns))"))
        let values: [Float] = data[(10 + headerLength)...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return stride(from: 0, to: values.count, by: columns).map { Array(values[$0..<$0 + columns]) }
    }

    @Test func matchesSentenceTransformersOnAThousandTexts() throws {
        try #require(
            FileManager.default.fileExists(
                atPath: Self.modelDirectory.appendingPathComponent("model.safetensors").path),
            "all-MiniLM-L6-v2 is missing from \(Self.modelDirectory.path): run scripts/setup.sh first")
        let embedder = try Embedder(modelDirectory: Self.modelDirectory)
        #expect(embedder.modelType == .bert)
        #expect(embedder.maxTokens == 256)
        #expect(embedder.normalizes)
        let texts = try JSONDecoder().decode(
            [String].self,
            from: Data(contentsOf: EncoderFixtures.directory.appendingPathComponent("minilm-sentences.json")))
        let expected = try readFloat32Matrix(
            EncoderFixtures.directory.appendingPathComponent("minilm-reference.npy"), columns: embedder.dimension)
        let vectors = try embedder.embed(texts)
        let cosines = zip(vectors, expected).map { cosine($0, $1) }
        let worst = cosines.enumerated().min { $0.element < $1.element }!
        print("all-MiniLM-L6-v2: worst cosine \(worst.element) (text \(worst.offset)) over \(texts.count) texts")
        #expect(cosines.count == 1000)
        #expect(worst.element >= 0.9999)
    }
}
