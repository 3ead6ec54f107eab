import Foundation
import QuarryEmbed

extension FuzzTarget {
    /// Texts every loaded tokenizer encodes: added tokens, continuations, Unicode, a long word.
    private static let sampleTexts = [
        "Hello, world! <|endoftext|> [CLS] unaffable ##ing [SEP]", "héllo 中文 \u{1F600} \r\n\t x",
        String(repeating: "abc", count: 70), "",
    ]

    /// The safetensors header and tensors, and the three tokenizer formats.
    static let modelFileTargets: [FuzzTarget] = [
        FuzzTarget("safetensors", "safetensors header length, offsets, shapes, dtypes; every tensor converted") {
            data, scratch in
            let file = try scratch.write(data, to: "model.safetensors")
            _ = try EmbedFuzzingEntryPoints.readEveryTensor(path: file.path)
        },
        FuzzTarget("tokenizer-json", "tokenizer.json (BPE and WordPiece models, added tokens)", isJSON: true) {
            data, scratch in
            let file = try scratch.write(data, to: "tokenizer.json", inFolder: "json")
            try encodeSamples(with: loadTokenizer(modelDirectory: file.deletingLastPathComponent()))
        },
        FuzzTarget("tokenizer-vocab", "BERT vocab.txt (WordPiece)") { data, scratch in
            let file = try scratch.write(data, to: "vocab.txt", inFolder: "vocab")
            try encodeSamples(with: loadTokenizer(modelDirectory: file.deletingLastPathComponent()))
        },
        FuzzTarget("tokenizer-tiktoken", "tiktoken ranks file (byte-level BPE)") { data, scratch in
            let file = try scratch.write(data, to: "ranks.tiktoken", inFolder: "tiktoken")
            try encodeSamples(with: loadTokenizer(modelDirectory: file.deletingLastPathComponent()))
        },
    ]

    /// Encodes the sample texts; every id must be one the tokenizer can produce (non-negative).
    private static func encodeSamples(with tokenizer: any Tokenizer) throws {
        for text in sampleTexts {
            let ids = tokenizer.prefixTokens + tokenizer.encode(text) + tokenizer.suffixTokens
            if let bad = ids.first(where: { $0 < 0 }) { throw FuzzFinding("tokenizer produced id \(bad)") }
        }
    }
}
