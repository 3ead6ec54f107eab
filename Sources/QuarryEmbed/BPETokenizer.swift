import Foundation

/// Byte-level BPE tokenizer for the Qwen2/Qwen3 vocabulary (the one pplx-embed uses).
///
/// Pipeline, identical to Qwen's tokenizer.json and to tiktoken with Qwen's ranks: added tokens
/// (`<|endoftext|>`, ...) are cut out first; each remaining segment is NFC-normalised, split by
/// Qwen's pre-tokenization pattern (`QwenPreTokenizer`), and each pre-token is looked up whole
/// or BPE-merged from its UTF-8 bytes. Qwen adds no BOS/EOS tokens.
public final class BPETokenizer: Tokenizer {
    public let prefixTokens: [Int32] = []
    public let suffixTokens: [Int32] = []
    public let separatorToken: Int32
    public let padToken: Int32
    /// The added tokens, matched literally in the input.
    public let addedTokens: [AddedToken]

    let merger: BytePairMerger
    /// Pre-tokens that are encoded as one token without running the merges: the whole
    /// vocabulary, or (for tokenizer.json files without `ignore_merges`) the tokens that the
    /// merges reproduce anyway.
    private let wholeTokens: ByteSequenceTable
    private let addedTokenMatcher: AddedTokenMatcher
    private let normalizesToNFC: Bool
    private let cache = PreTokenCache(capacity: 65_536)

    init(
        merger: BytePairMerger, wholeTokens: ByteSequenceTable, addedTokens: [AddedToken],
        normalizesToNFC: Bool, separatorToken: Int32, padToken: Int32
    ) {
        self.merger = merger
        self.wholeTokens = wholeTokens
        self.addedTokens = addedTokens
        self.addedTokenMatcher = AddedTokenMatcher(addedTokens)
        self.normalizesToNFC = normalizesToNFC
        self.separatorToken = separatorToken
        self.padToken = padToken
    }

    public func encode(_ text: String) -> [Int32] {
        var text = text
        var output: [Int32] = []
        output.reserveCapacity(text.utf8.count / 3)
        var decoded = QwenPreTokenizer.DecodedText()
        text.withUTF8 { bytes in
            addedTokenMatcher.split(bytes) { segment in
                switch segment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    encodeSegment(UnsafeBufferPointer(rebasing: bytes[range]), decoded: &decoded, into: &output)
                }
            }
        }
        return output
    }

    /// Encodes text that contains no added tokens.
    private func encodeSegment(
        _ bytes: UnsafeBufferPointer<UInt8>, decoded: inout QwenPreTokenizer.DecodedText, into output: inout [Int32]
    ) {
        decoded.decode(bytes)
        if normalizesToNFC && decoded.mayChangeUnderNFC {
            let normalized = UnicodeNormalization.nfc(bytes)
            if !normalized.elementsEqual(bytes) {
                normalized.withUnsafeBufferPointer { normalized in
                    decoded.decode(normalized)
                    encodePreTokens(normalized, decoded: decoded, into: &output)
                }
                return
            }
        }
        encodePreTokens(bytes, decoded: decoded, into: &output)
    }

    private func encodePreTokens(
        _ bytes: UnsafeBufferPointer<UInt8>, decoded: QwenPreTokenizer.DecodedText, into output: inout [Int32]
    ) {
        QwenPreTokenizer.forEachPreToken(in: decoded) { range in
            encodePreToken(UnsafeBufferPointer(rebasing: bytes[range]), into: &output)
        }
    }

    /// Appends the tokens of one pre-token.
    func encodePreToken(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if let id = wholeTokens.value(for: piece) {
            output.append(id)
            return
        }
        let key = Array(piece)
        if let cached = cache.tokens(for: key) {
            output.append(contentsOf: cached)
            return
        }
        let start = output.count
        merger.merge(piece, into: &output)
        cache.store(Array(output[start...]), for: key)
    }
}

/// A bounded, thread-safe memo of pre-token encodings (for pre-tokens that are not a single
/// vocabulary entry). When full it is emptied and refilled: frequent words come back at once.
final class PreTokenCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[UInt8]: [Int32]] = [:]
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func tokens(for key: [UInt8]) -> [Int32]? {
        lock.withLock { entries[key] }
    }

    func store(_ tokens: [Int32], for key: [UInt8]) {
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = tokens
        }
    }
}
