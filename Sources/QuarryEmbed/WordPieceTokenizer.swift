import Foundation

/// WordPiece tokenizer for BERT-family vocabularies (all-MiniLM-L6-v2 and the like), identical
/// to Hugging Face's BERT tokenizer: added tokens (`[CLS]`, `[SEP]`, ...) are cut out first, the
/// rest goes through BERT's basic tokenization (`BertTextNormalizer`), and each word is split
/// greedily into the longest vocabulary entries, continuations carrying the `##` prefix. A word
/// with an unknown part, or longer than `maxInputCharactersPerWord`, becomes `[UNK]`.
public final class WordPieceTokenizer: Tokenizer {
    /// `[CLS]`.
    public let prefixTokens: [Int32]
    /// `[SEP]`.
    public let suffixTokens: [Int32]
    /// `[SEP]`.
    public let separatorToken: Int32
    /// `[PAD]`.
    public let padToken: Int32
    /// `[UNK]`.
    public let unknownToken: Int32
    /// Longer words become `[UNK]` (BERT: 100).
    public let maxInputCharactersPerWord: Int

    /// Every vocabulary entry, for the first piece of a word.
    private let wordStarts: ByteSequenceTable
    /// Entries with the continuation prefix, keyed without it.
    private let continuations: ByteSequenceTable
    private let normalizer: BertTextNormalizer
    private let addedTokenMatcher: AddedTokenMatcher

    init(
        vocabulary: [(token: String, id: Int32)], continuationPrefix: String, unknownToken: Int32,
        classToken: Int32, separatorToken: Int32, padToken: Int32, maxInputCharactersPerWord: Int,
        normalizer: BertTextNormalizer, addedTokens: [AddedToken]
    ) {
        wordStarts = ByteSequenceTable(vocabulary.map { (Array($0.token.utf8), $0.id) })
        continuations = ByteSequenceTable(
            vocabulary.compactMap { entry in
                entry.token.utf8.starts(with: continuationPrefix.utf8)
                    ? (Array(entry.token.utf8.dropFirst(continuationPrefix.utf8.count)), entry.id) : nil
            })
        self.unknownToken = unknownToken
        self.prefixTokens = [classToken]
        self.suffixTokens = [separatorToken]
        self.separatorToken = separatorToken
        self.padToken = padToken
        self.maxInputCharactersPerWord = maxInputCharactersPerWord
        self.normalizer = normalizer
        self.addedTokenMatcher = AddedTokenMatcher(addedTokens)
    }

    public func encode(_ text: String) -> [Int32] {
        var text = text
        var output: [Int32] = []
        output.reserveCapacity(text.utf8.count / 4)
        var wordBytes: [UInt8] = []
        var boundaries: [Int] = []
        text.withUTF8 { bytes in
            addedTokenMatcher.split(bytes) { segment in
                switch segment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    normalizer.forEachWord(in: UnsafeBufferPointer(rebasing: bytes[range])) { word in
                        encodeWord(word, bytes: &wordBytes, boundaries: &boundaries, into: &output)
                    }
                }
            }
        }
        return output
    }

    /// Greedy longest-match-first split of one word; `bytes` and `boundaries` are scratch space.
    private func encodeWord(
        _ word: UnsafeBufferPointer<UInt32>, bytes: inout [UInt8], boundaries: inout [Int],
        into output: inout [Int32]
    ) {
        guard word.count <= maxInputCharactersPerWord else { return output.append(unknownToken) }
        bytes.removeAll(keepingCapacity: true)
        boundaries.removeAll(keepingCapacity: true)
        for scalar in word {
            boundaries.append(bytes.count)
            bytes.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        }
        boundaries.append(bytes.count)
        let firstPiece = output.count
        let complete = bytes.withUnsafeBufferPointer { bytes in
            var start = 0
            while start < word.count {
                let table = start == 0 ? wordStarts : continuations
                var end = word.count
                var piece: Int32?
                while end > start {
                    piece = table.value(for: UnsafeBufferPointer(rebasing: bytes[boundaries[start]..<boundaries[end]]))
                    if piece != nil { break }
                    end -= 1
                }
                guard let piece else { return false }
                output.append(piece)
                start = end
            }
            return true
        }
        if !complete {
            output.removeSubrange(firstPiece...)
            output.append(unknownToken)
        }
    }
}

extension WordPieceTokenizer {
    /// Loads a BERT `vocab.txt` (one token per line, the line number being its id) with the
    /// standard BERT settings; `lowercases` is the model's `do_lower_case` (which also strips
    /// accents, as in BERT).
    public convenience init(vocabularyFile: URL, lowercases: Bool = true) throws {
        let data = try readTokenizerFile(vocabularyFile)
        // "\r\n" is one Character, so CRLF files are split on it too (as Python's universal
        // newlines read them).
        let lines = String(decoding: data, as: UTF8.self).split(
            omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var vocabulary: [(token: String, id: Int32)] = []
        for (index, line) in lines.enumerated() {
            var token = String(line)
            while token.last?.isWhitespace == true { token.removeLast() }
            if token.isEmpty && index == lines.count - 1 { break }
            guard let id = Int32(exactly: index) else {
                throw TokenizerLoadingError.malformed(
                    file: vocabularyFile, reason: "more than \(Int32.max) tokens in the vocabulary")
            }
            vocabulary.append((token, id))
        }
        var ids: [String: Int32] = [:]
        for (token, id) in vocabulary where ids[token] == nil { ids[token] = id }
        func required(_ token: String) throws -> Int32 {
            guard let id = ids[token] else {
                throw TokenizerLoadingError.malformed(
                    file: vocabularyFile, reason: "no \(token) token in the vocabulary")
            }
            return id
        }
        let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            ids[token].map { AddedToken(content: token, id: $0, isSpecial: true) }
        }
        self.init(
            vocabulary: vocabulary, continuationPrefix: "##", unknownToken: try required("[UNK]"),
            classToken: try required("[CLS]"), separatorToken: try required("[SEP]"), padToken: try required("[PAD]"),
            maxInputCharactersPerWord: 100,
            normalizer: BertTextNormalizer(stripsAccents: lowercases, lowercases: lowercases),
            addedTokens: specials)
    }

    /// Loads a Hugging Face tokenizer.json whose model is WordPiece, with a `BertNormalizer`
    /// (or none) and a `BertPreTokenizer`.
    public convenience init(tokenizerJSONFile: URL) throws {
        try self.init(tokenizerJSON: TokenizerJSON(contentsOf: tokenizerJSONFile))
    }

    convenience init(tokenizerJSON json: TokenizerJSON) throws {
        let model = json.model
        let vocabulary = try json.vocabulary().map { (token: $0.key, id: Int32($0.value)) }
        let ids = Dictionary(vocabulary.map { ($0.token, $0.id) }, uniquingKeysWith: min)
        func id(of token: String, _ role: String) throws -> Int32 {
            if let id = ids[token] ?? json.addedTokens.first(where: { $0.content == token })?.id { return id }
            throw json.malformed("the \(role) token \(token) is not in the vocabulary")
        }
        let unknown = try id(of: model["unk_token"] as? String ?? "[UNK]", "unknown")

        var normalizer = BertTextNormalizer(
            cleansText: false, separatesChineseCharacters: false, stripsAccents: false, lowercases: false)
        if let settings = json.normalizer {
            guard settings["type"] as? String == "BertNormalizer" else {
                throw json.unsupported(
                    "WordPiece with normalizer \(settings["type"] ?? "?") (supported: BertNormalizer)")
            }
            normalizer.cleansText = settings["clean_text"] as? Bool ?? true
            normalizer.separatesChineseCharacters = settings["handle_chinese_chars"] as? Bool ?? true
            normalizer.lowercases = settings["lowercase"] as? Bool ?? true
            normalizer.stripsAccents = settings["strip_accents"] as? Bool ?? normalizer.lowercases
        }
        guard json.preTokenizer?["type"] as? String == "BertPreTokenizer" else {
            throw json.unsupported(
                "WordPiece with pre-tokenizer \(json.preTokenizer?["type"] ?? "none") (supported: BertPreTokenizer)")
        }
        // A word is split in time quadratic in its length, so the bound is itself bounded.
        let maxWordCharacters = model["max_input_chars_per_word"] as? Int ?? 100
        guard (1...10_000).contains(maxWordCharacters) else {
            throw json.unsupported("max_input_chars_per_word \(maxWordCharacters) (supported: 1...10000)")
        }
        self.init(
            vocabulary: vocabulary, continuationPrefix: model["continuing_subword_prefix"] as? String ?? "##",
            unknownToken: unknown, classToken: try id(of: "[CLS]", "class"),
            separatorToken: try id(of: "[SEP]", "separator"),
            padToken: try id(of: "[PAD]", "padding"),
            maxInputCharactersPerWord: maxWordCharacters,
            normalizer: normalizer, addedTokens: json.addedTokens)
    }
}
