import QuarryBase

/// An interval of numbers (dates as seconds since 1970 UTC); an infinite bound is open.
public struct NumericRange: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var lowerInclusive: Bool
    public var upperInclusive: Bool

    public init(lower: Double, lowerInclusive: Bool, upper: Double, upperInclusive: Bool) {
        self.lower = lower
        self.upper = upper
        self.lowerInclusive = lowerInclusive
        self.upperInclusive = upperInclusive
    }

    /// Whether `value` lies in the interval.
    public func contains(_ value: Double) -> Bool {
        (lowerInclusive ? value >= lower : value > lower) && (upperInclusive ? value <= upper : value < upper)
    }
}

/// What a filter reads from a collection's attribute indexes.
public protocol AttributeSource {
    /// Ids are 0..<idCount.
    var idCount: Int { get }
    /// Every id of a live document: what a NOT is taken against and what every result is within.
    func liveIDs() throws -> IDBitmap
    /// Adds the ids whose keyword field number `field` holds `value`.
    func addKeywordMatches(field: Int, value: String, to bitmap: inout IDBitmap) throws
    /// Adds the ids whose number or date field number `field` lies in `range`.
    func addRangeMatches(field: Int, _ range: NumericRange, to bitmap: inout IDBitmap) throws
}

/// A filter resolved against a catalogue of fields: field names become numbers, literals
/// become keywords or numeric ranges.
public struct CompiledFilter: Sendable {
    indirect enum Node: Sendable {
        case all
        case and([Node]), or([Node]), not(Node)
        case keywords(field: Int, values: [String])
        case ranges(field: Int, [NumericRange])
    }

    let root: Node
    let fields: [AttributeField]
    /// The numbers of the fields the filter reads.
    public let fieldNumbers: Set<Int>

    /// Resolves `expression` against `fields`; throws a `FilterError` for a field not in the
    /// catalogue or a condition its kind cannot answer.
    public init(_ expression: FilterExpression, fields: [AttributeField]) throws {
        var resolver = Resolver(fields: fields)
        root = try resolver.resolve(expression)
        self.fields = fields
        fieldNumbers = resolver.used
    }

    /// Whether the filter is the empty one (every live document matches).
    public var matchesEverything: Bool {
        if case .all = root { return true }
        return false
    }

    /// The live ids matching, as a bitmap over 0..<source.idCount.
    public func matches(in source: some AttributeSource) throws -> IDBitmap {
        let live = try source.liveIDs()
        var result = try evaluate(root, source: source, live: live)
        result.formIntersection(live)
        return result
    }

    /// Whether a document whose attribute values are `attributes` (keys are field names)
    /// matches: the reference the bitmap evaluation agrees with, and the check of one record.
    public func matches(attributes: [String: JSONValue]) -> Bool {
        test(root, attributes)
    }

    private func evaluate(_ node: Node, source: some AttributeSource, live: IDBitmap) throws -> IDBitmap {
        switch node {
        case .all: return live
        case .and(let parts):
            var result = try evaluate(parts[0], source: source, live: live)
            for part in parts.dropFirst() where !result.isEmpty {
                result.formIntersection(try evaluate(part, source: source, live: live))
            }
            return result
        case .or(let parts):
            var result = IDBitmap(count: live.count)
            for part in parts { result.formUnion(try evaluate(part, source: source, live: live)) }
            return result
        case .not(let part):
            var result = live
            result.subtract(try evaluate(part, source: source, live: live))
            return result
        case .keywords(let field, let values):
            var result = IDBitmap(count: live.count)
            for value in values { try source.addKeywordMatches(field: field, value: value, to: &result) }
            return result
        case .ranges(let field, let ranges):
            var result = IDBitmap(count: live.count)
            for range in ranges { try source.addRangeMatches(field: field, range, to: &result) }
            return result
        }
    }

    private func test(_ node: Node, _ attributes: [String: JSONValue]) -> Bool {
        switch node {
        case .all: return true
        case .and(let parts): return parts.allSatisfy { test($0, attributes) }
        case .or(let parts): return parts.contains { test($0, attributes) }
        case .not(let part): return !test(part, attributes)
        case .keywords(let field, let values):
            guard let value = attributes[fields[field].name] else { return false }
            return AttributeValues.keywords(value).contains { values.contains($0) }
        case .ranges(let field, let ranges):
            guard let value = attributes[fields[field].name],
                let number = AttributeValues.number(value, kind: fields[field].kind)
            else { return false }
            return ranges.contains { $0.contains(number) }
        }
    }
}

/// Turns names into field numbers and literals into what each kind of field compares.
private struct Resolver {
    let fields: [AttributeField]
    let numbers: [String: Int]
    var used = Set<Int>()

    init(fields: [AttributeField]) {
        self.fields = fields
        numbers = Dictionary(fields.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    mutating func resolve(_ expression: FilterExpression) throws -> CompiledFilter.Node {
        switch expression {
        case .all: return .all
        case .and(let parts): return parts.isEmpty ? .all : .and(try parts.map { try resolve($0) })
        case .or(let parts):
            guard !parts.isEmpty else { throw FilterError("an OR needs at least one part") }
            return .or(try parts.map { try resolve($0) })
        case .not(let part): return .not(try resolve(part))
        case .match(let name, let values):
            guard !values.isEmpty else { throw FilterError("the match on \"\(name)\" has no values") }
            let number = try field(name)
            let kind = fields[number].kind
            if kind == .keyword { return .keywords(field: number, values: values.map(keyword)) }
            return .ranges(
                field: number,
                try values.map {
                    let point = try self.number($0, name: name, kind: kind)
                    return NumericRange(lower: point, lowerInclusive: true, upper: point, upperInclusive: true)
                })
        case .range(let name, let bounds):
            let number = try field(name)
            let kind = fields[number].kind
            guard kind != .keyword else {
                throw FilterError("the field \"\(name)\" is a keyword: it takes matches, not ranges")
            }
            let lower = try bounds.lower.map { try self.number($0, name: name, kind: kind) } ?? -.infinity
            let upper = try bounds.upper.map { try self.number($0, name: name, kind: kind) } ?? .infinity
            return .ranges(
                field: number,
                [
                    NumericRange(
                        lower: lower, lowerInclusive: bounds.lower == nil || bounds.lowerInclusive, upper: upper,
                        upperInclusive: bounds.upper == nil || bounds.upperInclusive)
                ])
        }
    }

    mutating func field(_ name: String) throws -> Int {
        guard let number = numbers[name] else {
            let names = fields.map(\.name).joined(separator: ", ")
            throw FilterError("the field \"\(name)\" is not indexed (indexed: \(names.isEmpty ? "none" : names))")
        }
        used.insert(number)
        return number
    }

    func keyword(_ literal: FilterLiteral) -> String {
        switch literal {
        case .string(let text): return text
        case .number(let number): return AttributeValues.keywordText(number)
        case .bool(let flag): return flag ? "true" : "false"
        }
    }

    func number(_ literal: FilterLiteral, name: String, kind: AttributeKind) throws -> Double {
        switch (literal, kind) {
        case (.number(let number), _): return number
        case (.string(let text), .date):
            guard let seconds = parseISO8601Date(text) else {
                throw FilterError("the date field \"\(name)\" cannot compare with \"\(text)\": not an ISO-8601 date")
            }
            return seconds
        case (.string(let text), _):
            guard let number = Double(text), number.isFinite, text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) })
            else { throw FilterError("the number field \"\(name)\" cannot compare with \"\(text)\": not a number") }
            return number
        case (.bool(let flag), _):
            throw FilterError("the \(kind.rawValue) field \"\(name)\" cannot compare with \(flag)")
        }
    }
}
