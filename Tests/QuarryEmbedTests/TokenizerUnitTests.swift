import Foundation
import Testing

@testable import QuarryEmbed

@Suite struct TokenizerUnitTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func qwenSpecialTokensAndSettings() throws {
        let tokenizer = try TokenizerTestData.qwen()
        #expect(tokenizer.prefixTokens.isEmpty)
        #expect(tokenizer.suffixTokens.isEmpty)
        #expect(tokenizer.separatorToken == 151_643)
        #expect(tokenizer.padToken == 151_643)
        #expect(tokenizer.encode("<|endoftext|>") == [151_643])
        #expect(tokenizer.encode("<|im_start|><|im_end|></think>") == [151_644, 151_645, 151_668])
        #expect(tokenizer.encode("") == [])
    }

    @Test func bertSpecialTokensAndSettings() throws {
        let tokenizer = try TokenizerTestData.bert()
        #expect(tokenizer.prefixTokens == [101])
        #expect(tokenizer.suffixTokens == [102])
        #expect(tokenizer.separatorToken == 102)
        #expect(tokenizer.padToken == 0)
        #expect(tokenizer.unknownToken == 100)
        #expect(tokenizer.encode("Hello, world!") == [7592, 1010, 2088, 999])
        #expect(tokenizer.encode("[SEP]") == [102])
        #expect(tokenizer.encode(String(repeating: "a", count: 101)) == [100])
    }

    @Test func loadTokenizerChoosesByFiles() throws {
        try TokenizerTestData.requireModelFile(TokenizerTestData.qwenRanksFile)
        try TokenizerTestData.requireModelFile(
            TokenizerTestData.miniLMDirectory.appendingPathComponent("tokenizer.json"))
        #expect(try loadTokenizer(modelDirectory: TokenizerTestData.qwenDirectory) is BPETokenizer)
        #expect(try loadTokenizer(modelDirectory: TokenizerTestData.miniLMDirectory) is WordPieceTokenizer)

        let vocabularyOnly = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: vocabularyOnly) }
        try FileManager.default.copyItem(
            at: TokenizerTestData.miniLMDirectory.appendingPathComponent("vocab.txt"),
            to: vocabularyOnly.appendingPathComponent("vocab.txt"))
        let fromVocabulary = try loadTokenizer(modelDirectory: vocabularyOnly)
        #expect(fromVocabulary is WordPieceTokenizer)
        #expect(fromVocabulary.encode("Héllo, WORLD") == [7592, 1010, 2088])
    }

    @Test func loadingErrorsAreClear() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: TokenizerLoadingError.noTokenizerFiles(directory: directory)) {
            try loadTokenizer(modelDirectory: directory)
        }
        let description = "\(TokenizerLoadingError.noTokenizerFiles(directory: directory))"
        #expect(description.contains("scripts/fetch-models.sh"))

        let ranksFile = directory.appendingPathComponent("broken.tiktoken")
        try "IQ== 0\nnot a rank line\n".write(to: ranksFile, atomically: true, encoding: .utf8)
        #expect(
            throws: TokenizerLoadingError.malformed(
                file: ranksFile, reason: "line 2 is not \"base64(token bytes) rank\"")
        ) {
            try loadTokenizer(modelDirectory: directory)
        }

        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        try "{\"model\": ".write(to: tokenizerJSON, atomically: true, encoding: .utf8)
        #expect {
            try loadTokenizer(modelDirectory: directory)
        } throws: { error in
            guard case .malformed(let file, _) = error as? TokenizerLoadingError else { return false }
            return file == tokenizerJSON
        }

        try #"{"model": {"type": "Unigram", "vocab": []}}"#.write(to: tokenizerJSON, atomically: true, encoding: .utf8)
        #expect(
            throws: TokenizerLoadingError.unsupported(
                file: tokenizerJSON, reason: "model type Unigram (supported: BPE, WordPiece)")
        ) {
            try loadTokenizer(modelDirectory: directory)
        }
    }

    /// A byte-level BPE tokenizer.json over the bytes of "ab" plus three merges, with the merges
    /// written in `mergeForm`.
    private func tinyTokenizerJSON(mergeForm: (String, String) -> String) -> String {
        var vocabulary: [String] = []
        for byte in 0...255 {
            let scalar = ByteLevelAlphabet.unicodeToByte.first { $0.value == UInt8(byte) }!.key
            vocabulary.append(
                "\"\(String(Character(scalar)).unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined())\": \(byte)"
            )
        }
        vocabulary += ["\"ab\": 256", "\"abab\": 257", "\"Ġab\": 258"]
        let merges = [mergeForm("a", "b"), mergeForm("ab", "ab"), mergeForm("Ġ", "ab")]
        let pattern = BPETokenizer.qwenPreTokenizationPattern.replacingOccurrences(of: "\\", with: "\\\\")
        return """
            {"added_tokens": [{"id": 259, "content": "<|endoftext|>", "special": true}],
             "normalizer": {"type": "NFC"},
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "\(pattern)"}, "behavior": "Isolated", "invert": false},
                {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]},
             "model": {"type": "BPE", "vocab": {\(vocabulary.joined(separator: ", "))},
                       "merges": [\(merges.joined(separator: ", "))]}}
            """
    }

    @Test(arguments: ["string", "pair"])
    func tokenizerJSONMergeForms(form: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = tinyTokenizerJSON { left, right in
            form == "string" ? "\"\(left) \(right)\"" : "[\"\(left)\", \"\(right)\"]"
        }
        try json.write(to: directory.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        let tokenizer = try #require(try loadTokenizer(modelDirectory: directory) as? BPETokenizer)
        #expect(tokenizer.separatorToken == 259)
        // "abab" and " ab" are merged; " aba" leaves a single "a"; " c" stays two bytes.
        #expect(tokenizer.encode("abab ab aba c<|endoftext|>") == [257, 258, 258, 97, 32, 99, 259])
    }

    @Test func bothMergeLoopsAgree() throws {
        let tokenizer = try TokenizerTestData.qwen()
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("etaoin shrdlu,.'\n漢字é".utf8)
        for length in [2, 3, 10, 63, 64, 65, 200, 1000] {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
                var scanned: [Int32] = []
                var queued: [Int32] = []
                bytes.withUnsafeBufferPointer { bytes in
                    tokenizer.merger.mergeByScanning(bytes, into: &scanned)
                    tokenizer.merger.mergeWithQueue(bytes, into: &queued)
                }
                #expect(scanned == queued, "bytes \(bytes)")
            }
        }
    }

    @Test func concurrentEncodingIsConsistent() async throws {
        let tokenizer = try TokenizerTestData.qwen()
        let texts = try TokenizerTestData.goldenLines("tokenizer_goldens.jsonl").prefix(400).map(\.text)
        let expected = texts.map(tokenizer.encode)
        let results = await withTaskGroup(of: [[Int32]].self) { group in
            for _ in 0..<4 { group.addTask { texts.map(tokenizer.encode) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for result in results { #expect(result == expected) }
    }
}
