import QuarryBase

/// How a field is indexed: keywords match by equality, numbers and dates by range.
public enum AttributeKind: String, Sendable, Codable, CaseIterable {
    case keyword, number, date

    /// The kind a field takes from its first value seen: an ISO-8601 string is a date, another
    /// string, a string array or a bool a keyword, a number a number; nil for what is not
    /// indexed (an object, null, an empty or mixed array).
    public static func infer(from value: JSONValue) -> AttributeKind? {
        switch value {
        case .string(let text): return parseISO8601Date(text) == nil ? .keyword : .date
        case .number: return .number
        case .bool: return .keyword
        case .array(let items):
            guard !items.isEmpty else { return nil }
            for item in items {
                guard case .string = item else { return nil }
            }
            return .keyword
        case .null, .object: return nil
        }
    }
}

/// A field that documents carry and collections index; in a catalogue (`[AttributeField]`)
/// a field's number is its index.
public struct AttributeField: Sendable, Codable, Equatable {
    /// `lang`, `site`, `host`, `ingested`, or `metadata.NAME` for a top-level metadata field.
    public var name: String
    public var kind: AttributeKind

    public init(name: String, kind: AttributeKind) {
        self.name = name
        self.kind = kind
    }

    /// The fields every collection indexes: the language, the site, the host, the ingest time.
    public static let builtIn: [AttributeField] = [
        AttributeField(name: "lang", kind: .keyword), AttributeField(name: "site", kind: .keyword),
        AttributeField(name: "host", kind: .keyword), AttributeField(name: "ingested", kind: .date),
    ]
}

/// How a document's value of a field is indexed.
public enum AttributeValues {
    /// The keywords of a value: a string itself, a string array's strings (once each), a bool
    /// as "true" or "false", a number as its decimal; none for anything else.
    public static func keywords(_ value: JSONValue) -> [String] {
        switch value {
        case .string(let text): return [text]
        case .bool(let flag): return [flag ? "true" : "false"]
        case .number(let number): return number.isFinite ? [keywordText(number)] : []
        case .array(let items):
            var seen = Set<String>()
            var result: [String] = []
            for case .string(let text) in items where seen.insert(text).inserted { result.append(text) }
            return result
        case .null, .object: return []
        }
    }

    /// The number a value is indexed as in a number or date field: a number itself; for a date
    /// field also an ISO-8601 string as seconds since 1970 UTC; nil otherwise.
    public static func number(_ value: JSONValue, kind: AttributeKind) -> Double? {
        switch (value, kind) {
        case (.number(let number), .number), (.number(let number), .date): return number.isFinite ? number : nil
        case (.string(let text), .date): return parseISO8601Date(text)
        default: return nil
        }
    }

    /// A number's keyword: an integer as its decimal digits, another number as Swift prints it.
    static func keywordText(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 9.007_199_254_740_992e15 { return String(Int64(number)) }
        return String(number)
    }
}

/// Seconds since 1970-01-01T00:00:00Z of an ISO-8601 date or date-time: `2024-05-01`,
/// `2024-05-01T10:00`, `2024-05-01T10:00:00Z`, `2024-05-01T10:00:00.250+02:00` (no zone is
/// UTC); nil when the text is not one or names a day that does not exist.
public func parseISO8601Date(_ text: String) -> Double? {
    var reader = DigitReader(bytes: Array(text.utf8))
    guard let year = reader.digits(4), reader.skip(UInt8(ascii: "-")), let month = reader.digits(2),
        reader.skip(UInt8(ascii: "-")), let day = reader.digits(2),
        (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month)
    else { return nil }
    var seconds = Double(daysSinceEpoch(year: year, month: month, day: day)) * 86_400
    if reader.atEnd { return seconds }
    guard reader.skip(UInt8(ascii: "T")) || reader.skip(UInt8(ascii: "t")) || reader.skip(UInt8(ascii: " ")),
        let hour = reader.digits(2), reader.skip(UInt8(ascii: ":")), let minute = reader.digits(2),
        hour < 24, minute < 60
    else { return nil }
    seconds += Double(hour * 3_600 + minute * 60)
    if reader.skip(UInt8(ascii: ":")) {
        guard let second = reader.digits(2), second < 60 else { return nil }
        seconds += Double(second)
        if reader.skip(UInt8(ascii: ".")) || reader.skip(UInt8(ascii: ",")) {
            var scale = 0.1
            var fraction = 0.0
            var count = 0
            while let digit = reader.digits(1) {
                fraction += Double(digit) * scale
                scale /= 10
                count += 1
            }
            guard count > 0 else { return nil }
            seconds += fraction
        }
    }
    if reader.atEnd || reader.skip(UInt8(ascii: "Z")) || reader.skip(UInt8(ascii: "z")) {
        return reader.atEnd ? seconds : nil
    }
    let sign: Double
    if reader.skip(UInt8(ascii: "+")) {
        sign = 1
    } else if reader.skip(UInt8(ascii: "-")) {
        sign = -1
    } else {
        return nil
    }
    guard let offsetHours = reader.digits(2), offsetHours < 24 else { return nil }
    _ = reader.skip(UInt8(ascii: ":"))
    guard let offsetMinutes = reader.digits(2), offsetMinutes < 60, reader.atEnd else { return nil }
    return seconds - sign * Double(offsetHours * 3_600 + offsetMinutes * 60)
}

/// Reads fixed-width decimal fields from ASCII bytes.
private struct DigitReader {
    let bytes: [UInt8]
    var position = 0

    var atEnd: Bool { position == bytes.count }

    /// The value of the next `width` digits, consumed; nil (consuming nothing) if they are not.
    mutating func digits(_ width: Int) -> Int? {
        guard position + width <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[position..<position + width] {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        position += width
        return value
    }

    /// Consumes `byte` if it comes next.
    mutating func skip(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }
}

private func isLeapYear(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

private func daysInMonth(year: Int, month: Int) -> Int {
    switch month {
    case 2: return isLeapYear(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Days from 1970-01-01 to the given day of the proleptic Gregorian calendar.
private func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
    let shiftedYear = month <= 2 ? year - 1 : year
    let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
    let yearOfEra = shiftedYear - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}
