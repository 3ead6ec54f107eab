import Foundation

/// Unicode normalisation helpers for the tokenizers. The normalisation itself is Foundation's;
/// the quick checks let the common case (text already in normal form) skip it.
enum UnicodeNormalization {
    /// Whether `scalar` can be changed by NFC, alone or together with its neighbours: a
    /// conservative superset of the scalars whose NFC quick-check property is No or Maybe.
    static func mayChangeUnderNFC(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x300 { return false }
        let properties = scalar.properties
        if properties.canonicalCombiningClass != .notReordered || properties.isFullCompositionExclusion {
            return true
        }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            // Hangul vowel and trailing consonant jamo compose with a preceding syllable.
            return (0x1161...0x1175).contains(scalar.value) || (0x11A8...0x11C2).contains(scalar.value)
        }
    }

    /// NFC form of UTF-8 `bytes`.
    static func nfc(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        Array(String(decoding: bytes, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
    }

    /// NFD form of `text`.
    static func nfd(_ text: String) -> String {
        text.decomposedStringWithCanonicalMapping
    }
}
