import Foundation

/// BERT's basic tokenization, as Hugging Face's `BertNormalizer` followed by `BertPreTokenizer`:
/// drop control characters and map whitespace to spaces, put spaces around CJK ideographs,
/// strip accents (NFD, then drop nonspacing marks) and lowercase, then split into words at
/// whitespace with every punctuation character a word of its own.
///
/// The character classes follow the reference implementation's Unicode tables: its control,
/// punctuation and nonspacing-mark tables are Unicode 8.0's, so characters assigned later are
/// neither (which `BertCharacterTable` reproduces with the scalars' Unicode age, plus the few
/// scalars whose category has changed since).
struct BertTextNormalizer: Sendable {
    var cleansText = true
    var separatesChineseCharacters = true
    var stripsAccents = true
    var lowercases = true

    /// Calls `body` with each word of `bytes` (UTF-8 text) as Unicode scalar values.
    func forEachWord(in bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt32>) -> Void) {
        var scalars = normalizedScalars(bytes)
        scalars.withUnsafeMutableBufferPointer { scalars in
            var wordStart = 0
            for index in 0..<scalars.count {
                let flags = BertCharacterTable.flags(of: scalars[index])
                if flags & BertCharacterTable.whitespace != 0 || flags & BertCharacterTable.punctuation != 0 {
                    if wordStart < index { body(UnsafeBufferPointer(rebasing: scalars[wordStart..<index])) }
                    if flags & BertCharacterTable.punctuation != 0 {
                        body(UnsafeBufferPointer(rebasing: scalars[index...index]))
                    }
                    wordStart = index + 1
                }
            }
            if wordStart < scalars.count { body(UnsafeBufferPointer(rebasing: scalars[wordStart...])) }
        }
    }

    /// The normalizer's output, as scalar values.
    func normalizedScalars(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var scalars: [UInt32] = []
        scalars.reserveCapacity(bytes.count)
        var mayDecompose = false
        var index = 0
        while index < bytes.count {
            let (scalar, length) = UTF8Decoding.scalar(in: bytes, at: index)
            index += length
            let flags = BertCharacterTable.flags(of: scalar)
            if cleansText {
                if scalar == 0 || scalar == 0xFFFD || flags & BertCharacterTable.control != 0 { continue }
                if flags & BertCharacterTable.whitespace != 0 {
                    scalars.append(0x20)
                    continue
                }
            }
            mayDecompose = mayDecompose || scalar >= 0xC0
            if separatesChineseCharacters && flags & BertCharacterTable.chinese != 0 {
                scalars.append(contentsOf: [0x20, scalar, 0x20])
            } else {
                scalars.append(scalar)
            }
        }
        if stripsAccents && mayDecompose {
            let text = String(String.UnicodeScalarView(scalars.lazy.map { Unicode.Scalar($0)! }))
            scalars = UnicodeNormalization.nfd(text).unicodeScalars.lazy
                .map(\.value)
                .filter { BertCharacterTable.flags(of: $0) & BertCharacterTable.nonspacingMark == 0 }
        }
        if lowercases {
            var lowered: [UInt32] = []
            lowered.reserveCapacity(scalars.count)
            for scalar in scalars { BertCharacterTable.appendLowercase(of: scalar, to: &lowered) }
            scalars = lowered
        }
        return scalars
    }
}

/// Per-scalar classes for BERT's basic tokenization; a table for the Basic Multilingual Plane,
/// computed on the fly beyond it.
enum BertCharacterTable {
    static let control: UInt8 = 1
    static let whitespace: UInt8 = 2
    static let punctuation: UInt8 = 4
    static let chinese: UInt8 = 8
    static let nonspacingMark: UInt8 = 16

    /// The Unicode version of the reference implementation's category tables.
    private static let categoryTablesVersion = (major: 8, minor: 0)

    private static let basicPlaneFlags: [UInt8] = (0..<0x10000).map { computeFlags(UInt32($0)) }
    /// Single-scalar lowercase of each BMP scalar, or `multiScalarLowercase`.
    private static let basicPlaneLowercase: [UInt32] = (0..<0x10000).map { value in
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return UInt32(value) }
        let mapping = scalar.properties.lowercaseMapping.unicodeScalars
        return mapping.count == 1 ? mapping.first!.value : multiScalarLowercase
    }
    private static let multiScalarLowercase = UInt32.max

    @inline(__always)
    static func flags(of scalar: UInt32) -> UInt8 {
        scalar < 0x10000 ? basicPlaneFlags.withUnsafeBufferPointer { $0[Int(scalar)] } : computeFlags(scalar)
    }

    /// Appends the full lowercase mapping of `scalar` (İ becomes i + U+0307).
    @inline(__always)
    static func appendLowercase(of scalar: UInt32, to output: inout [UInt32]) {
        if scalar < 0x80 {
            output.append((0x41...0x5A).contains(scalar) ? scalar + 0x20 : scalar)
            return
        }
        if scalar < 0x10000 {
            let lowered = basicPlaneLowercase.withUnsafeBufferPointer { $0[Int(scalar)] }
            if lowered != multiScalarLowercase {
                output.append(lowered)
                return
            }
        }
        guard let unicodeScalar = Unicode.Scalar(scalar) else { return output.append(scalar) }
        output.append(contentsOf: unicodeScalar.properties.lowercaseMapping.unicodeScalars.map(\.value))
    }

    /// The classes of `value` in the reference implementation. Scalars whose general category
    /// changed after Unicode 8.0 (found by comparing every code point with the reference) keep
    /// their Unicode 8.0 class.
    private static func computeFlags(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let properties = scalar.properties
        var flags: UInt8 = 0
        if value == 0x09 || value == 0x0A || value == 0x0D || properties.isWhitespace { flags |= whitespace }
        if isChineseCharacter(value) { flags |= chinese }
        if isASCIIPunctuation(value) { flags |= punctuation }
        switch value {
        case 0x166D, 0x111C9:
            return flags | punctuation
        case 0x1734, 0x1171E:
            return flags | nonspacingMark
        case 0x1885, 0x1886, 0xA9BD:
            return flags
        default:
            break
        }
        guard let age = properties.age, (age.major, age.minor) <= categoryTablesVersion else { return flags }
        switch properties.generalCategory {
        case .control, .format, .privateUse:
            if value != 0x09 && value != 0x0A && value != 0x0D { flags |= control }
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            flags |= punctuation
        case .nonspacingMark:
            flags |= nonspacingMark
        default:
            break
        }
        return flags
    }

    private static func isASCIIPunctuation(_ value: UInt32) -> Bool {
        (0x21...0x2F).contains(value) || (0x3A...0x40).contains(value) || (0x5B...0x60).contains(value)
            || (0x7B...0x7E).contains(value)
    }

    /// The CJK ideograph blocks of the original BERT.
    private static func isChineseCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
