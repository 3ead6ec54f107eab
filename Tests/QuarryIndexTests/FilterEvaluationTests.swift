import QuarryBase
import Testing

@testable import QuarryIndex

/// Documents in memory, indexed the way a collection indexes them: keyword postings and
/// numeric columns per field.
struct MemoryAttributeSource: AttributeSource {
    let fields: [AttributeField]
    let documents: [[String: JSONValue]]
    let live: IDBitmap
    var postings: [Int: [String: [Int]]] = [:]
    var columns: [Int: [(id: Int, value: Double)]] = [:]

    init(fields: [AttributeField], documents: [[String: JSONValue]], dead: Set<Int>) {
        self.fields = fields
        self.documents = documents
        var live = IDBitmap(count: documents.count)
        for id in documents.indices where !dead.contains(id) { live.insert(id) }
        self.live = live
        for (id, document) in documents.enumerated() where !dead.contains(id) {
            for (number, field) in fields.enumerated() {
                guard let value = document[field.name] else { continue }
                if field.kind == .keyword {
                    for keyword in AttributeValues.keywords(value) {
                        postings[number, default: [:]][keyword, default: []].append(id)
                    }
                } else if let numeric = AttributeValues.number(value, kind: field.kind) {
                    columns[number, default: []].append((id, numeric))
                }
            }
        }
    }

    var idCount: Int { documents.count }
    func liveIDs() throws -> IDBitmap { live }
    func addKeywordMatches(field: Int, value: String, to bitmap: inout IDBitmap) throws {
        #expect(fields[field].kind == .keyword)
        for id in postings[field]?[value] ?? [] { bitmap.insert(id) }
    }
    func addRangeMatches(field: Int, _ range: NumericRange, to bitmap: inout IDBitmap) throws {
        #expect(fields[field].kind != .keyword)
        for entry in columns[field] ?? [] where range.contains(entry.value) { bitmap.insert(entry.id) }
    }
}

@Suite struct FilterEvaluationTests {
    static let fields =
        AttributeField.builtIn + [
            AttributeField(name: "metadata.year", kind: .number), AttributeField(name: "metadata.tags", kind: .keyword),
            AttributeField(name: "metadata.published", kind: .date),
            AttributeField(name: "metadata.draft", kind: .keyword),
        ]
    static let languages = ["en", "en", "en", "en", "de", "de", "fr", "ja"]
    static let tags = ["news", "sport", "tech", "2020", "true"]

    static func documents(_ generator: inout SplitMix64) -> [[String: JSONValue]] {
        (0..<400).map { _ in
            var document: [String: JSONValue] = [:]
            if Int.random(in: 0..<10, using: &generator) > 0 {
                document["lang"] = .string(languages.randomElement(using: &generator)!)
            }
            // A long tail: site k has weight about 1/k.
            let rank = Int(1 / Double.random(in: 0.02...1, using: &generator))
            document["site"] = .string("s\(rank).org")
            document["host"] = .string("www.s\(rank).org")
            document["ingested"] = .string(
                "2024-0\(Int.random(in: 1...9, using: &generator))-1\(Int.random(in: 0...9, using: &generator))T0\(Int.random(in: 0...9, using: &generator)):00:00Z"
            )
            if Bool.random(using: &generator) {
                document["metadata.year"] = .number(Double(Int.random(in: 2015...2025, using: &generator)))
            }
            if Int.random(in: 0..<3, using: &generator) > 0 {
                document["metadata.tags"] = .array(
                    (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                        .string(tags.randomElement(using: &generator)!)
                    })
            }
            if Bool.random(using: &generator) {
                document["metadata.published"] = .number(
                    Double(Int.random(in: 1_700_000_000...1_730_000_000, using: &generator)))
            }
            if Bool.random(using: &generator) { document["metadata.draft"] = .bool(Bool.random(using: &generator)) }
            return document
        }
    }

    static func literal(for field: AttributeField, _ generator: inout SplitMix64) -> FilterLiteral {
        switch field.name {
        case "lang": return .string(["en", "de", "fr", "ja", "xx"].randomElement(using: &generator)!)
        case "site": return .string("s\(Int.random(in: 1...60, using: &generator)).org")
        case "host": return .string("www.s\(Int.random(in: 1...10, using: &generator)).org")
        case "metadata.tags":
            return Bool.random(using: &generator) ? .number(2020) : .string(tags.randomElement(using: &generator)!)
        case "metadata.draft": return .bool(Bool.random(using: &generator))
        case "metadata.year": return .number(Double(Int.random(in: 2014...2026, using: &generator)))
        case "ingested": return .string("2024-0\(Int.random(in: 1...9, using: &generator))-15")
        default: return .number(Double(Int.random(in: 1_690_000_000...1_740_000_000, using: &generator)))
        }
    }

    static func expression(depth: Int, _ generator: inout SplitMix64) -> FilterExpression {
        let choice = depth >= 4 ? Int.random(in: 4..<7, using: &generator) : Int.random(in: 0..<7, using: &generator)
        switch choice {
        case 0:
            return .and(
                (0..<Int.random(in: 1...3, using: &generator)).map { _ in expression(depth: depth + 1, &generator) })
        case 1:
            return .or(
                (0..<Int.random(in: 1...3, using: &generator)).map { _ in expression(depth: depth + 1, &generator) })
        case 2: return .not(expression(depth: depth + 1, &generator))
        case 3: return .all
        default:
            let field = fields.randomElement(using: &generator)!
            if field.kind == .keyword || Bool.random(using: &generator) {
                let values = (0..<Int.random(in: 1...3, using: &generator)).map { _ in literal(for: field, &generator) }
                return .match(field: field.name, values: values)
            }
            var range = FilterRange()
            if Bool.random(using: &generator) {
                range.lower = literal(for: field, &generator)
                range.lowerInclusive = Bool.random(using: &generator)
            }
            if range.lower == nil || Bool.random(using: &generator) {
                range.upper = literal(for: field, &generator)
                range.upperInclusive = Bool.random(using: &generator)
            }
            return .range(field: field.name, range)
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func bitmapEqualsBruteForce(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let documents = Self.documents(&generator)
        let dead = Set((0..<documents.count).filter { _ in Int.random(in: 0..<10, using: &generator) == 0 })
        let source = MemoryAttributeSource(fields: Self.fields, documents: documents, dead: dead)
        var nonTrivial = 0
        for _ in 0..<200 {
            let expression = Self.expression(depth: 0, &generator)
            let filter = try CompiledFilter(expression, fields: Self.fields)
            let bitmap = try filter.matches(in: source)
            var disagreements: [Int] = []
            for id in documents.indices {
                let expected = !dead.contains(id) && filter.matches(attributes: documents[id])
                if bitmap.contains(id) != expected { disagreements.append(id) }
            }
            #expect(disagreements.isEmpty, "\(expression): ids \(disagreements.prefix(10))")
            if bitmap.cardinality > 0 && bitmap.cardinality < documents.count - dead.count { nonTrivial += 1 }
        }
        #expect(nonTrivial > 50)
    }

    @Test func semanticsOnKnownDocuments() throws {
        let documents: [[String: JSONValue]] = [
            ["lang": .string("de"), "metadata.year": .number(2020), "metadata.tags": .array([.string("2020")])],
            ["lang": .string("en"), "metadata.year": .number(2023), "ingested": .string("2024-05-01T10:00:00Z")],
            ["metadata.draft": .bool(true), "ingested": .string("2024-04-30")],
        ]
        let source = MemoryAttributeSource(fields: Self.fields, documents: documents, dead: [])
        func ids(_ infix: String) throws -> [Int] {
            var result: [Int] = []
            try CompiledFilter(FilterExpression(infix: infix), fields: Self.fields).matches(in: source).forEachID {
                result.append($0)
            }
            return result
        }
        #expect(try ids("lang = de") == [0])
        #expect(try ids("lang != de") == [1, 2])
        #expect(try ids("metadata.year = 2020") == [0])
        #expect(try ids("metadata.year >= 2020 AND metadata.year < 2023") == [0])
        #expect(try ids("metadata.tags = 2020") == [0])
        #expect(try ids("metadata.draft = true") == [2])
        #expect(try ids("ingested >= 2024-05-01") == [1])
        #expect(try ids("ingested < '2024-05-01T10:00:00+00:00'") == [2])
        #expect(try ids("NOT metadata.year > 0") == [2])
        #expect(try ids("lang IN (de, en) OR metadata.draft = true") == [0, 1, 2])
        let all = try CompiledFilter(.all, fields: Self.fields)
        #expect(all.matchesEverything)
        #expect(try all.matches(in: source).cardinality == 3)
    }

    func compileError(_ infix: String) -> String? {
        filterErrorMessage { _ = try CompiledFilter(FilterExpression(infix: infix), fields: Self.fields) }
    }

    @Test func compilationErrors() throws {
        #expect(
            compileError("metadata.colour = red")
                == "the field \"metadata.colour\" is not indexed (indexed: lang, site, host, ingested, metadata.year, metadata.tags, metadata.published, metadata.draft)"
        )
        #expect(compileError("lang > de") == "the field \"lang\" is a keyword: it takes matches, not ranges")
        #expect(
            compileError("metadata.year = abc")
                == "the number field \"metadata.year\" cannot compare with \"abc\": not a number")
        #expect(compileError("metadata.year = '2020'") == nil)
        #expect(
            compileError("ingested = yesterday")
                == "the date field \"ingested\" cannot compare with \"yesterday\": not an ISO-8601 date")
        #expect(compileError("metadata.year = true") == "the number field \"metadata.year\" cannot compare with true")
        let filter = try CompiledFilter(FilterExpression(infix: "lang = de OR metadata.year > 1"), fields: Self.fields)
        #expect(filter.fieldNumbers == [0, 4])
    }
}
