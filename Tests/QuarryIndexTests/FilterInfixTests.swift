import QuarryBase
import Testing

@testable import QuarryIndex

@Suite struct FilterInfixTests {
    func parseError(_ text: String) -> String? {
        filterErrorMessage { _ = try FilterExpression(infix: text) }
    }

    let de = FilterExpression.match(field: "lang", values: [.string("de")])
    let en = FilterExpression.match(field: "lang", values: [.string("en")])
    let site = FilterExpression.match(field: "site", values: [.string("example.org")])

    @Test func andBindsTighterThanOr() throws {
        #expect(try FilterExpression(infix: "lang = de AND site = example.org") == .and([de, site]))
        #expect(
            try FilterExpression(infix: "lang = de OR lang = en AND site = example.org")
                == .or([de, .and([en, site])]))
        #expect(
            try FilterExpression(infix: "(lang = de or lang = en) and site = example.org")
                == .and([.or([de, en]), site]))
        #expect(try FilterExpression(infix: "lang=de And (site=example.org AND lang=en)") == .and([de, site, en]))
        #expect(try FilterExpression(infix: "  ") == .all)
    }

    @Test func notAndInequality() throws {
        #expect(try FilterExpression(infix: "NOT (lang = de OR lang = en)") == .not(.or([de, en])))
        #expect(try FilterExpression(infix: "not lang = de and site = example.org") == .and([.not(de), site]))
        #expect(try FilterExpression(infix: "lang != de") == .not(de))
        #expect(try FilterExpression(infix: "NOT NOT lang = de") == .not(.not(de)))
    }

    @Test func inAndNotIn() throws {
        let sites = FilterExpression.match(field: "site", values: [.string("a.org"), .string("b.org")])
        #expect(try FilterExpression(infix: "site IN (a.org, b.org)") == sites)
        #expect(try FilterExpression(infix: "site not in ('a.org',\"b.org\")") == .not(sites))
        #expect(
            try FilterExpression(infix: "metadata.year IN (2020, 2021.5, true)")
                == .match(field: "metadata.year", values: [.number(2020), .number(2021.5), .bool(true)]))
    }

    @Test func valuesAndRanges() throws {
        #expect(
            try FilterExpression(infix: "metadata.tag = 'two words'")
                == .match(field: "metadata.tag", values: [.string("two words")]))
        #expect(
            try FilterExpression(infix: "metadata.code = \"2020\"")
                == .match(field: "metadata.code", values: [.string("2020")]))
        #expect(
            try FilterExpression(infix: "metadata.n = -3e2") == .match(field: "metadata.n", values: [.number(-300)]))
        #expect(
            try FilterExpression(infix: "metadata.n = inf") == .match(field: "metadata.n", values: [.string("inf")]))
        #expect(
            try FilterExpression(infix: "metadata.ok = TRUE") == .match(field: "metadata.ok", values: [.bool(true)]))
        #expect(
            try FilterExpression(infix: "metadata.year >= 2020 AND metadata.year < 2024")
                == .and([
                    .range(field: "metadata.year", FilterRange(lower: .number(2020), lowerInclusive: true)),
                    .range(field: "metadata.year", FilterRange(upper: .number(2024), upperInclusive: false)),
                ]))
        #expect(
            try FilterExpression(infix: "ingested >= 2024-05-01")
                == .range(field: "ingested", FilterRange(lower: .string("2024-05-01"), lowerInclusive: true)))
        #expect(
            try FilterExpression(infix: "ingested > 2024-05-01T10:00:00+02:00")
                == .range(
                    field: "ingested", FilterRange(lower: .string("2024-05-01T10:00:00+02:00"), lowerInclusive: false)))
        #expect(
            try FilterExpression(infix: "metadata.n <= 5")
                == .range(field: "metadata.n", FilterRange(upper: .number(5), upperInclusive: true)))
    }

    @Test func infixAndJSONGiveEqualTrees() throws {
        func cond(_ key: String, _ match: JSONValue) -> JSONValue { .object(["key": .string(key), "match": match]) }
        let json: JSONValue = .object([
            "must": [cond("lang", .object(["value": "de"])), cond("site", .object(["any": ["a.org", "b.org"]]))],
            "should": [
                .object(["key": "metadata.year", "range": .object(["gte": 2020])]),
                cond("metadata.tag", .object(["value": "x"])),
            ],
            "must_not": [cond("host", .object(["value": "www.a.org"]))],
        ])
        let infix =
            "lang = de AND site IN (a.org, b.org) AND (metadata.year >= 2020 OR metadata.tag = x) AND NOT host = www.a.org"
        #expect(try FilterExpression(infix: infix) == FilterExpression(json: json))
        let except: JSONValue = .object(["must": [cond("lang", .object(["except": ["en", "fr"]]))]])
        #expect(try FilterExpression(infix: "lang NOT IN (en, fr)") == FilterExpression(json: except))
    }

    @Test func errorsNameTheColumn() {
        #expect(parseError("metadata.year > ") == "at 17: expected a value after \">\"")
        #expect(parseError("metadata.year >= AND lang = de") == "at 18: expected a value after \">=\", got AND")
        #expect(
            parseError("lang = de AND site")
                == "at 19: expected an operator (=, !=, <, <=, >, >=, IN) after site, got the end")
        #expect(parseError("lang = de site = x") == "at 11: expected AND, OR or the end, got site")
        #expect(parseError("(lang = de") == "at 11: expected \")\", got the end")
        #expect(parseError("lang = 'de") == "at 8: the quote ' is not closed")
        #expect(parseError("lang = de$") == "at 10: unexpected character $")
        #expect(parseError("lang ! de") == "at 6: expected \"!=\"")
        #expect(parseError("site IN a.org") == "at 9: expected \"(\" after IN, got a.org")
        #expect(parseError("site IN (a.org b.org)") == "at 16: expected \",\" or \")\", got b.org")
        #expect(parseError("site IN ()") == "at 10: expected a value after \"(\", got \")\"")
        #expect(parseError("site NOT = x") == "at 10: expected IN after NOT, got \"=\"")
        #expect(parseError("AND lang = de") == "at 1: expected a field, got AND")
        #expect(parseError("metadata.ok > true") == "at 15: \">\" needs a number or a date, got a bool")
        #expect(parseError("lang = ") == "at 8: expected a value after \"=\"")
    }

    @Test func limits() {
        let deep = String(repeating: "(", count: 32) + "lang = de" + String(repeating: ")", count: 32)
        #expect(parseError(deep)?.hasSuffix("NOTs and parentheses nest deeper than 32") == true)
        let fits = String(repeating: "(", count: 31) + "lang = de" + String(repeating: ")", count: 31)
        #expect(parseError(fits) == nil)
        let many = Array(repeating: "lang = de", count: 1_025).joined(separator: " OR ")
        #expect(parseError(many)?.hasSuffix("more than 1024 conditions") == true)
        let values = "site IN (" + (0..<1_025).map(String.init).joined(separator: ",") + ")"
        #expect(parseError(values)?.hasSuffix("more than 1024 values") == true)
        #expect(parseError(String(repeating: "f", count: 257) + " = x")?.hasSuffix("longer than 256 bytes") == true)
    }
}
