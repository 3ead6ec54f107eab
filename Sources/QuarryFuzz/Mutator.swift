import QuarryIndex

/// Mutates inputs the way a fuzzer does: bit flips, byte changes, inserted, deleted and
/// duplicated ranges, interesting integers (0, -1, 2^31, 2^63, lengths just past the buffer)
/// written in binary and in decimal, splices with other inputs, and for JSON targets token
/// mutations (a value replaced by another kind, a structure nested or cut, a known key
/// inserted).
public struct Mutator {
    public var random: SplitMix64
    /// The longest input produced.
    public let maxLength: Int
    /// Whether inputs are JSON (or JSON lines), which adds the JSON-aware mutations.
    public let isJSON: Bool
    /// Byte strings worth inserting: the quoted strings and words of the seed corpus.
    private var dictionary: [[UInt8]]

    public init(seed: UInt64, maxLength: Int, isJSON: Bool, seeds: [[UInt8]]) {
        random = SplitMix64(seed: seed)
        self.maxLength = max(16, maxLength)
        self.isJSON = isJSON
        dictionary = Self.tokens(of: seeds)
    }

    /// Integers at the edges where length and offset arithmetic goes wrong.
    static let interestingIntegers: [UInt64] = [
        0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 512, 1023, 1024, 4095, 4096,
        0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max, UInt64.max - 1, 1 << 40, 1 << 48,
    ]

    /// Decimal spellings of the same edges, for text headers and JSON numbers.
    static let interestingNumbers: [String] = [
        "0", "-0", "1", "-1", "2", "255", "256", "65536", "65537", "2147483647", "2147483648", "-2147483649",
        "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1000000000000000", "1e15", "1e300", "-1e300", "1.5", "0.5", "NaN", "1e-400",
        "99999999999999999999999999999",
    ]

    /// JSON values of every kind, to put where a value was.
    static let jsonFragments: [String] = [
        "null", "true", "false", "0", "-1", "[]", "{}", "\"\"", "[[]]", "{\"\":null}", "\"\\u0000\"", "\"\\ud800\"",
        "[0,1,2]", "[-1]", "[1e300]", "\"\u{FFFF}\"", "[9223372036854775808]", "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]",
    ]

    /// One to four stacked mutations of `input`; `other` is a second input for splicing.
    public mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var bytes = input
        let rounds = 1 + Int(random.next() % 4)
        for _ in 0..<rounds { mutateOnce(&bytes, other: other) }
        if bytes.count > maxLength { bytes.removeLast(bytes.count - maxLength) }
        return bytes
    }

    private mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(random.next() % UInt64(bound)) }

    private mutating func mutateOnce(_ bytes: inout [UInt8], other: [UInt8]) {
        let choices = isJSON ? 13 : 10
        switch below(choices) {
        case 0 where !bytes.isEmpty:
            bytes[below(bytes.count)] ^= UInt8(1) << UInt8(below(8))
        case 1 where !bytes.isEmpty:
            bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
        case 2:
            let count = 1 + below(8)
            let at = below(bytes.count + 1)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        case 3 where !bytes.isEmpty:
            let start = below(bytes.count)
            let end = min(bytes.count, start + 1 + below(min(64, bytes.count)))
            bytes.removeSubrange(start..<end)
        case 4 where !bytes.isEmpty:
            let start = below(bytes.count)
            let end = min(bytes.count, start + 1 + below(64))
            bytes.insert(contentsOf: bytes[start..<end], at: below(bytes.count + 1))
        case 5 where !bytes.isEmpty:
            writeInterestingInteger(&bytes)
        case 6:
            replaceNumber(&bytes)
        case 7 where !other.isEmpty:
            let head = below(bytes.count + 1)
            let tail = below(other.count)
            bytes = Array(bytes[..<head]) + other[tail...]
        case 8 where !dictionary.isEmpty:
            bytes.insert(contentsOf: dictionary[below(dictionary.count)], at: below(bytes.count + 1))
        case 9 where !bytes.isEmpty:
            bytes.removeLast(below(bytes.count))
        case 10:
            replaceJSONValue(&bytes)
        case 11 where !bytes.isEmpty:
            let delimiters: Set<UInt8> = Set("{}[],:\"".utf8)
            let positions = bytes.indices.filter { delimiters.contains(bytes[$0]) }
            if let position = positions.isEmpty ? nil : positions[below(positions.count)] {
                if below(2) == 0 { bytes.remove(at: position) } else { bytes.insert(bytes[position], at: position) }
            }
        case 12:
            let depth = 1 + below(64)
            let at = below(bytes.count + 1)
            bytes.insert(
                contentsOf: Array(String(repeating: "[", count: depth).utf8)
                    + Array(String(repeating: "]", count: depth).utf8),
                at: at)
        default:
            if !bytes.isEmpty {
                bytes[below(bytes.count)] ^= 0xFF
            } else {
                bytes.append(UInt8(truncatingIfNeeded: random.next()))
            }
        }
    }

    /// Overwrites 1, 2, 4 or 8 bytes with an interesting integer (or one near the input's
    /// length), little- or big-endian.
    private mutating func writeInterestingInteger(_ bytes: inout [UInt8]) {
        let width = [1, 2, 4, 8][below(4)]
        guard bytes.count >= width else { return }
        var value: UInt64
        switch below(3) {
        case 0: value = UInt64(bytes.count) &+ UInt64(bitPattern: Int64(below(5) - 2))
        case 1: value = Self.interestingIntegers[below(Self.interestingIntegers.count)] &- UInt64(below(2))
        default: value = Self.interestingIntegers[below(Self.interestingIntegers.count)]
        }
        if below(2) == 0 { value = value.byteSwapped >> UInt64(64 - 8 * width) }
        let at = below(bytes.count - width + 1)
        for offset in 0..<width { bytes[at + offset] = UInt8(truncatingIfNeeded: value >> UInt64(8 * offset)) }
    }

    /// Replaces a run of decimal digits (or inserts at random) with an interesting number.
    private mutating func replaceNumber(_ bytes: inout [UInt8]) {
        let number = Array(Self.interestingNumbers[below(Self.interestingNumbers.count)].utf8)
        let digits = bytes.indices.filter { (0x30...0x39).contains(bytes[$0]) }
        guard !digits.isEmpty else {
            bytes.insert(contentsOf: number, at: below(bytes.count + 1))
            return
        }
        var start = digits[below(digits.count)]
        var end = start + 1
        while start > 0 && (0x30...0x39).contains(bytes[start - 1]) || start > 0 && bytes[start - 1] == 0x2D {
            start -= 1
        }
        while end < bytes.count && ((0x30...0x39).contains(bytes[end]) || bytes[end] == 0x2E) { end += 1 }
        bytes.replaceSubrange(start..<end, with: number)
    }

    /// Replaces a JSON scalar, string or small structure with a value of another kind.
    private mutating func replaceJSONValue(_ bytes: inout [UInt8]) {
        let fragment = Array(Self.jsonFragments[below(Self.jsonFragments.count)].utf8)
        let starts = bytes.indices.filter { index in
            let byte = bytes[index]
            return byte == UInt8(ascii: ":") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: ",")
        }
        guard !starts.isEmpty else {
            bytes.insert(contentsOf: fragment, at: below(bytes.count + 1))
            return
        }
        var start = starts[below(starts.count)] + 1
        while start < bytes.count && bytes[start] == 0x20 { start += 1 }
        var end = start
        var depth = 0
        var inString = false
        while end < bytes.count {
            let byte = bytes[end]
            if inString {
                if byte == UInt8(ascii: "\\") { end += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                depth += 1
            } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                if depth == 0 { break }
                depth -= 1
            } else if byte == UInt8(ascii: ",") && depth == 0 {
                break
            }
            end += 1
            if depth == 0 && !inString && end - start > 0 && below(8) == 0 { break }
        }
        bytes.replaceSubrange(start..<min(end, bytes.count), with: fragment)
    }

    /// Quoted strings and alphanumeric words of the seeds (at most 512 distinct ones).
    private static func tokens(of seeds: [[UInt8]]) -> [[UInt8]] {
        var found: Set<[UInt8]> = []
        for seed in seeds {
            var index = 0
            while index < seed.count && found.count < 512 {
                let byte = seed[index]
                let isWord =
                    (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x2D
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    var end = index + 1
                    while end < seed.count && seed[end] != byte && end - index < 48 { end += 1 }
                    if end < seed.count && seed[end] == byte && end > index + 1 {
                        found.insert(Array(seed[index...end]))
                    }
                    index = end + 1
                } else if isWord {
                    var end = index
                    while end < seed.count && end - index < 48,
                        (0x41...0x5A).contains(seed[end]) || (0x61...0x7A).contains(seed[end]) || seed[end] == 0x5F
                            || seed[end] == 0x2D
                    {
                        end += 1
                    }
                    if end - index >= 3 { found.insert(Array(seed[index..<end])) }
                    index = end
                } else {
                    index += 1
                }
            }
        }
        return found.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
