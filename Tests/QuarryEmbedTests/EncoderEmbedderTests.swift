import Foundation
import Testing

@testable import QuarryEmbed

/// A tokenizer for the tiny Qwen3 fixture: the text "5 6 7" is the ids [5, 6, 7].
private struct DigitsTokenizer: Tokenizer {
    let separatorToken: Int32
    func encode(_ text: String) -> [Int32] { text.split(separator: " ").map { Int32($0)! } }
    var prefixTokens: [Int32] { [] }
    var suffixTokens: [Int32] { [] }
    var padToken: Int32 { separatorToken }
}

/// The `Embedder` facade on the tiny Qwen3 fixture: batching, truncation, windows and late
/// chunking against the transformers reference.
@Suite struct EncoderEmbedderTests {
    let reference: [String: Any]
    let sequences: [[Int32]]
    private let tokenizer: DigitsTokenizer

    init() throws {
        reference = try EncoderFixtures.json("tiny-qwen3-reference.json")
        sequences = (reference["sequences"] as! [Any]).map { integers($0).map(Int32.init) }
        tokenizer = DigitsTokenizer(separatorToken: Int32(reference["separator"] as! Int))
    }

    private func embedder(maxTokens: Int? = nil) throws -> Embedder {
        try Embedder(modelDirectory: EncoderFixtures.model("tiny-qwen3"), tokenizer: tokenizer, maxTokens: maxTokens)
    }

    private func text(_ ids: some Sequence<Int32>) -> String { ids.map(String.init).joined(separator: " ") }

    @Test func embedsInInputOrderAcrossBatches() throws {
        let embedder = try embedder()
        #expect(embedder.dimension == 64 && embedder.maxTokens == 512 && !embedder.normalizes)
        let expected = (reference["pooled"] as! [Any]).map(floats)
        let vectors = try embedder.embed(sequences.map(text))
        #expect(zip(vectors, expected).allSatisfy { cosine($0, $1) >= 0.9999 })
    }

    @Test func truncatesLongInputsToMaxTokens() throws {
        let embedder = try embedder(maxTokens: 16)
        let long = sequences[3]  // 33 tokens
        let truncated = try embedder.embedTokens([long])[0]
        let firstSixteen = try embedder.embedTokens([Array(long.prefix(16))])[0]
        #expect(cosine(truncated, firstSixteen) >= 0.99999)
    }

    @Test func windowsCoverLongTextsWithOverlap() throws {
        let embedder = try embedder(maxTokens: 16)
        let windows = try embedder.embedWindows(text(sequences[5]), overlap: 4)  // 64 tokens
        #expect(windows.map(\.tokenRange) == [0..<16, 12..<28, 24..<40, 36..<52, 48..<64])
        let third = try embedder.embedTokens([Array(sequences[5][24..<40])])[0]
        #expect(cosine(windows[2].vector, third) >= 0.99999)  // sgemm sums differ with batch shape
    }

    @Test func lateChunkingMatchesTheModelCard() throws {
        let late = reference["late_chunking"] as! [String: Any]
        let documents = (late["documents"] as! [Any]).map { ($0 as! [Any]).map { text(integers($0).map(Int32.init)) } }
        let expected = (late["chunks"] as! [Any]).map { ($0 as! [Any]).map(floats) }
        let chunks = try embedder().embedContextual(documents)
        #expect(chunks.map(\.count) == documents.map(\.count))
        for (actual, wanted) in zip(chunks.joined(), expected.joined()) {
            if wanted.allSatisfy({ $0 == 0 }) {
                #expect(actual.allSatisfy { $0 == 0 })
            } else {
                #expect(cosine(actual, wanted) >= 0.9999)
            }
        }
    }

    @Test func longDocumentsSplitIntoContextWindowsAtChunkBoundaries() throws {
        let embedder = try embedder(maxTokens: 12)
        // 4 + 1 + 3 + 1 + 6 tokens: [c1 SEP c2] fits in 12, c3 goes to a second window.
        let document = ["5 6 7 8", "9 10 11", "12 13 14 15 16 17"]
        let chunks = try embedder.embedContextual([document])[0]
        let firstWindow = try embedder.embedContextual([Array(document[0..<2])])[0]
        let secondWindow = try embedder.embedContextual([[document[2]]])[0]
        #expect(chunks.count == 3)
        #expect(zip(chunks, firstWindow + secondWindow).allSatisfy { cosine($0, $1) >= 0.99999 })
    }
}
