import Foundation
import Testing

@testable import QuarryEmbed

/// Lengths, offsets, shapes and ids read from model files are checked before use.
@Suite struct ModelFileHardeningTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A safetensors file: `headerLength` (the declared length), then `header` and `payload`.
    private func safetensors(headerLength: UInt64? = nil, header: String, payload: [UInt8] = []) throws -> String {
        let file = try temporaryDirectory().appendingPathComponent("model.safetensors")
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (headerLength ?? UInt64(header.utf8.count)).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8) + payload
        try Data(bytes).write(to: file)
        return file.path
    }

    private func error(reading path: String) -> String? {
        do {
            _ = try EmbedFuzzingEntryPoints.readEveryTensor(path: path)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aHeaderLengthPastIntIsAnError() throws {
        let path = try safetensors(headerLength: 1 << 63 | 5, header: "{}")
        #expect(error(reading: path)?.contains("does not fit") == true)
        let pastFile = try safetensors(headerLength: 1 << 40, header: "{}")
        #expect(error(reading: pastFile)?.contains("does not fit") == true)
    }

    @Test func aShapeWhoseProductOverflowsIsAnError() throws {
        let header = #"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 0]}}"#
        #expect(try error(reading: safetensors(header: header))?.contains("too large") == true)
        let bytes = #"{"w": {"dtype": "F32", "shape": [2305843009213693952], "data_offsets": [0, 0]}}"#
        #expect(try error(reading: safetensors(header: bytes))?.contains("needs") == true)
    }

    @Test func aWellFormedFileReadsEveryTensor() throws {
        let header = #"{"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}"#
        #expect(
            try EmbedFuzzingEntryPoints.readEveryTensor(path: safetensors(header: header, payload: [0, 0x3C, 0, 0xC0]))
                == 2)
    }

    private func loadError(tokenizerJSON: String) throws -> String? {
        let directory = try temporaryDirectory()
        try Data(tokenizerJSON.utf8).write(to: directory.appendingPathComponent("tokenizer.json"))
        do {
            _ = try loadTokenizer(modelDirectory: directory)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func tokenIDsOutsideInt32AreErrors() throws {
        let model =
            #""model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": VOCAB}, "pre_tokenizer": {"type": "BertPreTokenizer"}"#
        let vocabulary = #"{"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3}"#
        let good = "{" + model.replacingOccurrences(of: "VOCAB", with: vocabulary) + "}"
        #expect(try loadError(tokenizerJSON: good) == nil)
        let hugeID = "{" + model.replacingOccurrences(of: "VOCAB", with: #"{"[UNK]": 1099511627776}"#) + "}"
        #expect(try loadError(tokenizerJSON: hugeID)?.contains("outside 0...") == true)
        let negative = "{" + model.replacingOccurrences(of: "VOCAB", with: #"{"[UNK]": -1}"#) + "}"
        #expect(try loadError(tokenizerJSON: negative)?.contains("outside 0...") == true)
        let addedToken =
            "{" + model.replacingOccurrences(of: "VOCAB", with: vocabulary)
            + #", "added_tokens": [{"id": 4294967296, "content": "[X]"}]}"#
        #expect(try loadError(tokenizerJSON: addedToken)?.contains("outside 0...") == true)
    }

    @Test func anUnboundedWordLengthIsRefused() throws {
        let json =
            #"{"model": {"type": "WordPiece", "max_input_chars_per_word": 1000000000, "#
            + #""vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3}}, "pre_tokenizer": {"type": "BertPreTokenizer"}}"#
        #expect(try loadError(tokenizerJSON: json)?.contains("max_input_chars_per_word") == true)
    }

    @Test func aCRLFVocabularyReadsLikeAnLFOne() throws {
        // Found by the tokenizer-vocab fuzz target's seeds: a CRLF file was one long line.
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "##s"]
        var tokenizers: [WordPieceTokenizer] = []
        for separator in ["\n", "\r\n"] {
            let file = try temporaryDirectory().appendingPathComponent("vocab.txt")
            try Data((words.joined(separator: separator) + separator).utf8).write(to: file)
            tokenizers.append(try WordPieceTokenizer(vocabularyFile: file))
        }
        #expect(tokenizers[0].encode("hellos hello") == [4, 5, 4])
        #expect(tokenizers[1].encode("hellos hello") == tokenizers[0].encode("hellos hello"))
    }

    @Test func aNegativeTiktokenRankIsAnError() throws {
        let directory = try temporaryDirectory()
        let lines = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0 == 7 ? -7 : $0)" }
        try Data(lines.joined(separator: "\n").utf8).write(to: directory.appendingPathComponent("x.tiktoken"))
        #expect(throws: TokenizerLoadingError.self) { _ = try loadTokenizer(modelDirectory: directory) }
    }
}
