import Foundation

/// Splits text into pre-tokens exactly like Qwen2/Qwen3's pre-tokenization regex
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// as a hand-written scanner over Unicode scalars (leftmost-first alternation, with the
/// backtracking of `\s*[\r\n]+` and `\s+(?!\S)` resolved by looking at the whitespace run).
/// Works on UTF-8 bytes and reports pre-tokens as byte ranges.
struct QwenPreTokenizer: Sendable {
    /// The pattern's character classes, plus a flag for scalars that may change under NFC.
    enum ScalarClass: UInt8 {
        case letter = 0  // \p{L}
        case number = 1  // \p{N}
        case newline = 2  // \r or \n (also \s)
        case space = 3  // other \s (Unicode White_Space)
        case other = 4  // everything else

        static let mayChangeUnderNFC: UInt8 = 0x80

        /// Class and NFC flag of `scalar`, computed from the Unicode properties.
        static func flags(of scalar: Unicode.Scalar) -> UInt8 {
            let properties = scalar.properties
            let scalarClass: ScalarClass
            switch scalar.value {
            case 0x0A, 0x0D:
                scalarClass = .newline
            default:
                if properties.isWhitespace {
                    scalarClass = .space
                } else {
                    switch properties.generalCategory {
                    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                        scalarClass = .letter
                    case .decimalNumber, .letterNumber, .otherNumber:
                        scalarClass = .number
                    default:
                        scalarClass = .other
                    }
                }
            }
            return scalarClass.rawValue | (UnicodeNormalization.mayChangeUnderNFC(scalar) ? mayChangeUnderNFC : 0)
        }
    }

    /// Class flags of every Basic Multilingual Plane scalar (surrogates read as `.other`).
    private static let basicPlaneFlags: [UInt8] = (0..<0x10000).map { value in
        Unicode.Scalar(UInt32(value)).map(ScalarClass.flags(of:)) ?? ScalarClass.other.rawValue
    }

    /// Decoded scalars of one text segment with their classes and UTF-8 offsets; reused across
    /// calls to avoid reallocating.
    struct DecodedText {
        var scalars: [UInt32] = []
        var classes: [ScalarClass] = []
        /// UTF-8 offset of each scalar, plus one final entry: the byte count.
        var offsets: [Int] = []
        /// Whether some scalar may change under NFC normalisation.
        var mayChangeUnderNFC = false

        mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>) {
            scalars.removeAll(keepingCapacity: true)
            classes.removeAll(keepingCapacity: true)
            offsets.removeAll(keepingCapacity: true)
            mayChangeUnderNFC = false
            QwenPreTokenizer.basicPlaneFlags.withUnsafeBufferPointer { table in
                var index = 0
                while index < bytes.count {
                    offsets.append(index)
                    let (scalar, length) = UTF8Decoding.scalar(in: bytes, at: index)
                    index += length
                    scalars.append(scalar)
                    let flags =
                        scalar < 0x10000
                        ? table[Int(scalar)] : ScalarClass.flags(of: Unicode.Scalar(scalar)!)
                    mayChangeUnderNFC = mayChangeUnderNFC || flags & ScalarClass.mayChangeUnderNFC != 0
                    classes.append(ScalarClass(rawValue: flags & 0x7F)!)
                }
                offsets.append(bytes.count)
            }
        }
    }

    /// Calls `body` with the UTF-8 byte range of each pre-token of `text`, in order.
    static func forEachPreToken(in text: DecodedText, _ body: (Range<Int>) -> Void) {
        let count = text.scalars.count
        text.scalars.withUnsafeBufferPointer { scalars in
            text.classes.withUnsafeBufferPointer { classes in
                var start = 0
                while start < count {
                    let end = preTokenEnd(scalars: scalars, classes: classes, from: start)
                    body(text.offsets[start]..<text.offsets[end])
                    start = end
                }
            }
        }
    }

    /// End (exclusive, in scalars) of the pre-token that starts at `start`.
    private static func preTokenEnd(
        scalars: UnsafeBufferPointer<UInt32>, classes: UnsafeBufferPointer<ScalarClass>, from start: Int
    ) -> Int {
        let count = scalars.count
        let first = classes[start]

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if scalars[start] == 0x27, let length = contractionLength(scalars, after: start) {
            return start + 1 + length
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var letters = start
        if first == .space || first == .other, start + 1 < count, classes[start + 1] == .letter {
            letters = start + 1
        }
        if classes[letters] == .letter {
            var end = letters + 1
            while end < count && classes[end] == .letter { end += 1 }
            return end
        }
        // \p{N}
        if first == .number { return start + 1 }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        var symbols = start
        if scalars[start] == 0x20, start + 1 < count, classes[start + 1] == .other { symbols = start + 1 }
        if classes[symbols] == .other {
            var end = symbols + 1
            while end < count && classes[end] == .other { end += 1 }
            while end < count && classes[end] == .newline { end += 1 }
            return end
        }
        // Whitespace: the run of \s starting here.
        var runEnd = start + 1
        var lastNewline = first == .newline ? start : -1
        while runEnd < count && (classes[runEnd] == .space || classes[runEnd] == .newline) {
            if classes[runEnd] == .newline { lastNewline = runEnd }
            runEnd += 1
        }
        // \s*[\r\n]+ : the greedy \s* backs off to the run's last line break.
        if lastNewline >= 0 { return lastNewline + 1 }
        // \s+(?!\S) : the whole run at the end of text, else all but the run's last scalar.
        if runEnd == count { return runEnd }
        if runEnd - start >= 2 { return runEnd - 1 }
        // \s+
        return runEnd
    }

    /// Length after the apostrophe of a contraction `'s 't 're 've 'm 'll 'd` (any case).
    /// Case-insensitive `s` also matches U+017F LATIN SMALL LETTER LONG S, as in the regex
    /// engines' simple case folding.
    private static func contractionLength(_ scalars: UnsafeBufferPointer<UInt32>, after apostrophe: Int) -> Int? {
        let count = scalars.count
        guard apostrophe + 1 < count else { return nil }
        func lowered(_ value: UInt32) -> UInt32 {
            (0x41...0x5A).contains(value) ? value + 0x20 : value
        }
        switch lowered(scalars[apostrophe + 1]) {
        case 0x73, 0x17F, 0x74, 0x6D, 0x64:  // s ſ t m d
            return 1
        case 0x72, 0x76:  // r v, followed by e
            return apostrophe + 2 < count && lowered(scalars[apostrophe + 2]) == 0x65 ? 2 : nil
        case 0x6C:  // l, followed by l
            return apostrophe + 2 < count && lowered(scalars[apostrophe + 2]) == 0x6C ? 2 : nil
        default:
            return nil
        }
    }
}

/// Decoding of the (always valid) UTF-8 that Swift strings hold.
enum UTF8Decoding {
    /// The scalar starting at `index` and its length in bytes.
    @inline(__always)
    static func scalar(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (UInt32, Int) {
        let lead = UInt32(bytes[index])
        if lead < 0x80 { return (lead, 1) }
        if lead < 0xE0 {
            return ((lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F), 2)
        }
        if lead < 0xF0 {
            return (
                (lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F), 3
            )
        }
        return (
            (lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12 | UInt32(bytes[index + 2] & 0x3F) << 6
                | UInt32(bytes[index + 3] & 0x3F), 4
        )
    }
}
