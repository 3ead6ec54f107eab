import QuarryBase
import Testing

@testable import QuarryIndex

@Suite struct FilterJSONTests {
    func condition(_ key: String, match: JSONValue) -> JSONValue { .object(["key": .string(key), "match": match]) }

    func parseError(_ json: JSONValue) -> String? {
        filterErrorMessage { _ = try FilterExpression(json: json) }
    }

    @Test func conditionShapes() throws {
        let value = condition("lang", match: .object(["value": .string("de")]))
        #expect(
            try FilterExpression(json: .object(["must": .array([value])]))
                == .match(field: "lang", values: [.string("de")]))
        let any = condition("site", match: .object(["any": .array([.string("a.org"), .string("b.org")])]))
        #expect(
            try FilterExpression(json: .object(["must": .array([any])]))
                == .match(field: "site", values: [.string("a.org"), .string("b.org")]))
        let except = condition("metadata.year", match: .object(["except": .array([.number(2020), .bool(true)])]))
        #expect(
            try FilterExpression(json: .object(["must": .array([except])]))
                == .not(.match(field: "metadata.year", values: [.number(2020), .bool(true)])))
        let range: JSONValue = .object(["key": "metadata.year", "range": .object(["gte": 2020, "lt": 2024])])
        #expect(
            try FilterExpression(json: .object(["must": .array([range])]))
                == .range(
                    field: "metadata.year",
                    FilterRange(lower: .number(2020), lowerInclusive: true, upper: .number(2024), upperInclusive: false)
                ))
        let dates: JSONValue = .object([
            "key": "ingested", "range": .object(["gt": "2024-05-01", "lte": "2024-06-01T00:00:00Z"]),
        ])
        #expect(
            try FilterExpression(json: .object(["must": .array([dates])]))
                == .range(
                    field: "ingested",
                    FilterRange(
                        lower: .string("2024-05-01"), lowerInclusive: false, upper: .string("2024-06-01T00:00:00Z"),
                        upperInclusive: true)))
    }

    @Test func mustShouldMustNotCombine() throws {
        let de = condition("lang", match: .object(["value": "de"]))
        let fr = condition("lang", match: .object(["value": "fr"]))
        let site = condition("site", match: .object(["value": "a.org"]))
        let json: JSONValue = .object(["must": .array([site]), "should": .array([de, fr]), "must_not": .array([site])])
        let siteMatch = FilterExpression.match(field: "site", values: [.string("a.org")])
        #expect(
            try FilterExpression(json: json)
                == .and([
                    siteMatch,
                    .or([
                        .match(field: "lang", values: [.string("de")]), .match(field: "lang", values: [.string("fr")]),
                    ]),
                    .not(siteMatch),
                ]))
        #expect(try FilterExpression(json: .object([:])) == .all)
        #expect(try FilterExpression(json: .object(["must": [], "should": []])) == .all)
    }

    @Test func nestedFilters() throws {
        let de = condition("lang", match: .object(["value": "de"]))
        let nested: JSONValue = .object(["should": .array([de, .object(["must_not": .array([de])])])])
        let deMatch = FilterExpression.match(field: "lang", values: [.string("de")])
        #expect(
            try FilterExpression(json: .object(["must_not": .array([nested])])) == .not(.or([deMatch, .not(deMatch)])))
    }

    @Test func unknownKeysAreErrors() {
        #expect(
            parseError(.object(["mst": []]))
                == "filter: unknown key \"mst\" (a filter has \"must\", \"should\", \"must_not\")")
        let typo: JSONValue = .object(["key": "lang", "mach": .object(["value": "de"])])
        #expect(
            parseError(.object(["must": .array([typo])]))?.hasPrefix("filter.must[0]: unknown key \"mach\"") == true)
        let badMatch = condition("lang", match: .object(["values": "de"]))
        #expect(
            parseError(.object(["should": .array([badMatch])]))?.hasPrefix(
                "filter.should[0].match: unknown key \"values\"") == true)
        let badRange: JSONValue = .object(["key": "x", "range": .object(["ge": 1])])
        #expect(
            parseError(.object(["must_not": .array([badRange])]))?.hasPrefix(
                "filter.must_not[0].range: unknown key \"ge\"") == true)
    }

    @Test func wrongTypesAreErrors() {
        let okay = condition("lang", match: .object(["value": "de"]))
        let range: JSONValue = .object(["key": "x", "range": .object(["gte": .object([:])])])
        #expect(
            parseError(.object(["must": .array([okay, okay, range])]))
                == "filter.must[2].range: \"gte\" must be a number or a date, got an object")
        let notDate: JSONValue = .object(["key": "x", "range": .object(["lt": "soon"])])
        #expect(
            parseError(.object(["must": .array([notDate])]))?.hasPrefix(
                "filter.must[0].range: \"lt\" must be a number or a date") == true)
        #expect(parseError(.object(["must": "lang"]))?.hasPrefix("filter.must: must be an array") == true)
        #expect(parseError(.array([]))?.hasPrefix("filter: must be a filter object") == true)
        #expect(
            parseError(.object(["must": .array([.object(["key": 3, "match": .object(["value": "de"])])])]))?.hasPrefix(
                "filter.must[0].key:") == true)
        let nullValue = condition("lang", match: .object(["any": .array(["de", .null])]))
        #expect(
            parseError(.object(["must": .array([nullValue])]))?.hasPrefix(
                "filter.must[0].match.any[1]: must be a string") == true)
        let both: JSONValue = .object(["key": "x", "range": .object(["gt": 1, "gte": 2])])
        #expect(
            parseError(.object(["must": .array([both])])) == "filter.must[0].range: has \"gt\" or \"gte\", not both")
        let neither: JSONValue = .object(["key": "x"])
        #expect(
            parseError(.object(["must": .array([neither])]))
                == "filter.must[0]: a condition needs \"match\" or \"range\"")
        let empty = condition("lang", match: .object(["any": []]))
        #expect(parseError(.object(["must": .array([empty])])) == "filter.must[0].match.any: must not be empty")
    }

    @Test func limits() {
        var deep: JSONValue = condition("lang", match: .object(["value": "de"]))
        for _ in 0...FilterLimits.maximumDepth { deep = .object(["must": .array([deep])]) }
        #expect(parseError(deep)?.contains("filters nest deeper than 32") == true)
        var shallow: JSONValue = condition("lang", match: .object(["value": "de"]))
        for _ in 0..<FilterLimits.maximumDepth { shallow = .object(["must": .array([shallow])]) }
        #expect(parseError(shallow) == nil)

        let one = condition("lang", match: .object(["value": "de"]))
        #expect(parseError(.object(["must": .array(Array(repeating: one, count: 1_024))])) == nil)
        #expect(
            parseError(.object(["must": .array(Array(repeating: one, count: 1_025))]))
                == "filter.must[1024]: more than 1024 conditions")

        let many = condition("lang", match: .object(["any": .array((0..<1_025).map { .number(Double($0)) })]))
        #expect(parseError(.object(["must": .array([many])])) == "filter.must[0].match.any: more than 1024 values")

        let long = condition(String(repeating: "k", count: 257), match: .object(["value": "de"]))
        #expect(parseError(.object(["must": .array([long])])) == "filter.must[0].key: longer than 256 bytes")
    }
}

// Literals for the filters the tests write.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
