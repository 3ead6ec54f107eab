import Foundation

/// Splits text into windows of about `tokensPerChunk` tokens that overlap by about `overlap`
/// tokens, cut at whitespace so every chunk is a run of whole words of the original text.
public struct Chunker: Sendable {
    public var tokensPerChunk: Int
    public var overlap: Int

    public init(tokensPerChunk: Int, overlap: Int) {
        self.tokensPerChunk = max(1, tokensPerChunk)
        self.overlap = min(max(0, overlap), self.tokensPerChunk - 1)
    }

    /// Words longer than this many bytes are cut (at a character boundary) into pieces this long,
    /// so a run of text without spaces still chunks, and tokenizing it stays linear.
    public static let maxWordBytes = 256

    /// The chunks of `text` as UTF-8 byte ranges; `tokenCount` gives the tokens of one word.
    /// Text without words gives no chunks.
    public func chunks(of text: String, tokenCount: (Substring) -> Int) -> [Range<Int>] {
        var words: [(range: Range<Int>, tokens: Int)] = []
        var utf8 = text.utf8.startIndex
        var offset = 0
        var wordStart: (index: String.Index, offset: Int)?
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        while utf8 < text.utf8.endIndex {
            let byte = text.utf8[utf8]
            if isSpace(byte) {
                if let start = wordStart {
                    words.append((start.offset..<offset, max(1, tokenCount(text[start.index..<utf8]))))
                    wordStart = nil
                }
            } else if let start = wordStart, offset - start.offset >= Self.maxWordBytes, byte & 0xC0 != 0x80 {
                words.append((start.offset..<offset, max(1, tokenCount(text[start.index..<utf8]))))
                wordStart = (utf8, offset)
            } else if wordStart == nil {
                wordStart = (utf8, offset)
            }
            utf8 = text.utf8.index(after: utf8)
            offset += 1
        }
        if let start = wordStart {
            words.append((start.offset..<offset, max(1, tokenCount(text[start.index...]))))
        }
        var chunks: [Range<Int>] = []
        var first = 0
        while first < words.count {
            var end = first
            var tokens = 0
            while end < words.count && (end == first || tokens + words[end].tokens <= tokensPerChunk) {
                tokens += words[end].tokens
                end += 1
            }
            chunks.append(words[first].range.lowerBound..<words[end - 1].range.upperBound)
            guard end < words.count else { break }
            // Step back over at most `overlap` tokens, always moving forward.
            var next = end
            var shared = 0
            while next - 1 > first && shared + words[next - 1].tokens <= overlap {
                shared += words[next - 1].tokens
                next -= 1
            }
            first = next
        }
        return chunks
    }
}
