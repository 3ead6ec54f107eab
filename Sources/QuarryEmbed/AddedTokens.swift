import Foundation

/// A token that is matched literally in the input before normalisation and pre-tokenization,
/// such as `<|endoftext|>` or `[SEP]` (Hugging Face's "added tokens").
public struct AddedToken: Sendable, Equatable {
    /// The literal text.
    public var content: String
    /// Its token id.
    public var id: Int32
    /// Whether it is a special (control) token rather than an ordinary added word.
    public var isSpecial: Bool

    public init(content: String, id: Int32, isSpecial: Bool) {
        self.content = content
        self.id = id
        self.isSpecial = isSpecial
    }
}

/// Finds added tokens in UTF-8 text, leftmost first and longest first at the same position,
/// and cuts the text around them. (The `lstrip`, `rstrip` and `single_word` options of
/// tokenizer.json are not applied: the Qwen and BERT vocabularies do not use them.)
struct AddedTokenMatcher: Sendable {
    /// A piece of input: ordinary text (a UTF-8 byte range) or a matched added token.
    enum Segment {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Candidate: Sendable {
        var bytes: [UInt8]
        var id: Int32
    }

    /// Candidates indexed by their first byte, longest first.
    private let candidatesByFirstByte: [[Candidate]]
    let isEmpty: Bool

    init(_ tokens: [AddedToken]) {
        var table = [[Candidate]](repeating: [], count: 256)
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            table[Int(bytes[0])].append(Candidate(bytes: bytes, id: token.id))
        }
        candidatesByFirstByte = table.map { $0.sorted { $0.bytes.count > $1.bytes.count } }
        isEmpty = tokens.isEmpty
    }

    /// Calls `body` with each segment of `bytes`, in order; empty text segments are skipped.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Segment) -> Void) {
        guard !isEmpty else {
            if !bytes.isEmpty { body(.text(0..<bytes.count)) }
            return
        }
        var textStart = 0
        var index = 0
        while index < bytes.count {
            let candidates = candidatesByFirstByte[Int(bytes[index])]
            var matched: Candidate?
            for candidate in candidates where candidate.bytes.count <= bytes.count - index {
                let equal = candidate.bytes.withUnsafeBufferPointer {
                    memcmp($0.baseAddress!, bytes.baseAddress! + index, $0.count) == 0
                }
                if equal {
                    matched = candidate
                    break
                }
            }
            guard let token = matched else {
                index += 1
                continue
            }
            if textStart < index { body(.text(textStart..<index)) }
            body(.token(token.id))
            index += token.bytes.count
            textStart = index
        }
        if textStart < bytes.count { body(.text(textStart..<bytes.count)) }
    }
}
