import Foundation
import Quarry
import QuarryIndex
import QuarrySchema

extension FuzzTarget {
    /// Filters as clients send them, parsed, compiled and evaluated; and the attribute
    /// indexes' stored values.
    static let filterTargets: [FuzzTarget] = [
        FuzzTarget("filter-json", "a search filter in Qdrant's JSON shape, compiled and evaluated", isJSON: true) {
            data, _ in
            let json = try JSONDecoder().decode(JSONValue.self, from: data)
            try evaluate(try FilterExpression(json: json))
        },
        FuzzTarget("filter-infix", "a search filter in the infix form, compiled and evaluated", maxLength: 4096) {
            data, _ in
            try evaluate(try FilterExpression(infix: String(decoding: data, as: UTF8.self)))
        },
        FuzzTarget("attribute-record", "a vector's stored attribute record (AttributeRecord)") { data, _ in
            let entries = try data.withUnsafeBytes { try AttributeRecord.decode($0) }
            guard AttributeRecord.encode(entries) == [UInt8](data) else {
                throw FuzzFinding("a record that does not encode back to its bytes was accepted")
            }
        },
        FuzzTarget("posting-chunk", "a stored posting chunk (PostingChunk), sparse or dense") { data, _ in
            var words = [UInt64](repeating: 0, count: PostingChunk.wordCount)
            try data.withUnsafeBytes { raw in
                try words.withUnsafeMutableBufferPointer { try PostingChunk.addBits(of: raw, to: $0) }
            }
            let count = words.reduce(0) { $0 + $1.nonzeroBitCount }
            let encoded = words.withUnsafeBufferPointer { PostingChunk.encode(words: $0, count: count) }
            guard encoded == [UInt8](data) else { throw FuzzFinding("a chunk that does not encode back was accepted") }
        },
    ]

    /// Compiles `expression` against the built-in fields and three metadata fields, and
    /// evaluates it over a few documents.
    private static func evaluate(_ expression: FilterExpression) throws {
        let fields =
            AttributeField.builtIn + [
                AttributeField(name: "metadata.year", kind: .number),
                AttributeField(name: "metadata.tags", kind: .keyword),
                AttributeField(name: "metadata.published", kind: .date),
            ]
        let compiled = try CompiledFilter(expression, fields: fields)
        let documents: [[String: JSONValue]] = [
            ["lang": .string("de"), "metadata.year": .number(2021), "metadata.tags": .array([.string("a")])],
            ["lang": .string("en"), "site": .string("a.org"), "metadata.published": .string("2024-05-01")], [:],
        ]
        var source = FuzzAttributeSource(documents: documents, fields: fields)
        let matches = try compiled.matches(in: source)
        for (id, document) in documents.enumerated()
        where matches.contains(id) != compiled.matches(attributes: document) {
            throw FuzzFinding("the bitmap and the reference disagree on document \(id)")
        }
        source.documents = []
        _ = try compiled.matches(in: source)
    }
}

/// Documents in memory as an attribute source, for the filter targets.
private struct FuzzAttributeSource: AttributeSource {
    var documents: [[String: JSONValue]]
    let fields: [AttributeField]
    var idCount: Int { documents.count }

    func liveIDs() throws -> IDBitmap {
        var live = IDBitmap(count: idCount)
        for id in documents.indices { live.insert(id) }
        return live
    }

    func addKeywordMatches(field: Int, value: String, to bitmap: inout IDBitmap) throws {
        for (id, document) in documents.enumerated() {
            if let held = document[fields[field].name], AttributeValues.keywords(held).contains(value) {
                bitmap.insert(id)
            }
        }
    }

    func addRangeMatches(field: Int, _ range: NumericRange, to bitmap: inout IDBitmap) throws {
        for (id, document) in documents.enumerated() {
            if let held = document[fields[field].name],
                let number = AttributeValues.number(held, kind: fields[field].kind), range.contains(number)
            {
                bitmap.insert(id)
            }
        }
    }
}
