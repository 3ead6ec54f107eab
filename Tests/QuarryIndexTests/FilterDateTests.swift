import QuarryBase
import Testing

@testable import QuarryIndex

@Suite struct FilterDateTests {
    @Test func validFormsToTheSecond() {
        #expect(parseISO8601Date("1970-01-01") == 0)
        #expect(parseISO8601Date("2024-05-01") == 1_714_521_600)
        #expect(parseISO8601Date("2024-05-01T10:00:00Z") == 1_714_557_600)
        #expect(parseISO8601Date("2024-05-01T10:00Z") == 1_714_557_600)
        #expect(parseISO8601Date("2024-05-01T10:00:00") == 1_714_557_600)
        #expect(parseISO8601Date("2024-05-01T12:00:00+02:00") == 1_714_557_600)
        #expect(parseISO8601Date("2024-05-01T05:30:00-0430") == 1_714_557_600)
        #expect(parseISO8601Date("2024-05-01T10:00:00.250Z") == 1_714_557_600.25)
        #expect(parseISO8601Date("2024-02-29") == 1_709_164_800)
        #expect(parseISO8601Date("2000-02-29T23:59:59Z") == 951_868_799)
        #expect(parseISO8601Date("1969-12-31T23:59:59Z") == -1)
        #expect(parseISO8601Date("1900-03-01") == -2_203_891_200)
    }

    @Test func invalidFormsAreNil() {
        for text in [
            "2024-13-01", "2024-02-30", "2023-02-29", "1900-02-29", "2024-04-31", "2024-00-10", "2024-05-00",
            "garbage", "", "2024-5-1", "2024-05-01T", "2024-05-01T25:00:00Z", "2024-05-01T10:60Z",
            "2024-05-01T10:00:61Z", "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00+2", "2024-05-01T10:00:00Zjunk",
            "2024-05-01x", "20240501", "2024-05-01T10:00:00+02:00:00",
        ] {
            #expect(parseISO8601Date(text) == nil, "\(text)")
        }
    }

    @Test func kindsAreInferred() {
        #expect(AttributeKind.infer(from: .string("2024-05-01")) == .date)
        #expect(AttributeKind.infer(from: .string("2024-05-01T10:00:00.5+02:00")) == .date)
        #expect(AttributeKind.infer(from: .string("de")) == .keyword)
        #expect(AttributeKind.infer(from: .array([.string("a"), .string("b")])) == .keyword)
        #expect(AttributeKind.infer(from: .number(3)) == .number)
        #expect(AttributeKind.infer(from: .bool(false)) == .keyword)
        #expect(AttributeKind.infer(from: .object([:])) == nil)
        #expect(AttributeKind.infer(from: .null) == nil)
        #expect(AttributeKind.infer(from: .array([.string("a"), .number(1)])) == nil)
        #expect(AttributeKind.infer(from: .array([])) == nil)
    }

    @Test func valuesAreIndexed() {
        #expect(AttributeValues.keywords(.string("de")) == ["de"])
        #expect(AttributeValues.keywords(.array([.string("a"), .string("b"), .string("a")])) == ["a", "b"])
        #expect(AttributeValues.keywords(.bool(true)) == ["true"])
        #expect(AttributeValues.keywords(.number(2020)) == ["2020"])
        #expect(AttributeValues.keywords(.null) == [])
        #expect(AttributeValues.number(.number(7), kind: .number) == 7)
        #expect(AttributeValues.number(.string("1970-01-02"), kind: .date) == 86_400)
        #expect(AttributeValues.number(.number(5), kind: .date) == 5)
        #expect(AttributeValues.number(.string("7"), kind: .number) == nil)
        #expect(AttributeField.builtIn.map(\.name) == ["lang", "site", "host", "ingested"])
        #expect(AttributeField.builtIn.map(\.kind) == [.keyword, .keyword, .keyword, .date])
    }
}
