import ArgumentParser
import Foundation
import Quarry

/// The filter options of the commands that search.
struct FilterOptions: ParsableArguments {
    @Option(
        help: """
            Only documents matching this filter, in Qdrant's JSON shape: {"must": [{"key": "lang", "match": \
            {"value": "de"}}, {"key": "metadata.year", "range": {"gte": 2020}}], "should": [...], \
            "must_not": [...]}. Fields: lang, site, host, ingested and metadata.NAME.
            """)
    var filter: String?
    @Option(
        name: .customLong("where"),
        help: "Only documents matching this condition: 'lang = de AND (site = a.org OR metadata.year >= 2020)'.")
    var condition: String?

    /// The filter given (both forms: their conjunction), or nil.
    func expression() throws -> FilterExpression? {
        var parts: [FilterExpression] = []
        if let filter {
            let json: JSONValue
            do {
                json = try JSONDecoder().decode(JSONValue.self, from: Data(filter.utf8))
            } catch {
                throw ValidationError("--filter is not JSON: \(filter.prefix(80))")
            }
            parts.append(try FilterExpression(json: json))
        }
        if let condition { parts.append(try FilterExpression(infix: condition)) }
        return parts.isEmpty ? nil : parts.count == 1 ? parts[0] : .and(parts)
    }
}

/// A declared field, written NAME:KIND (`metadata.year:number`).
extension AttributeField: ExpressibleByArgument {
    public init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":"),
            let kind = AttributeKind(rawValue: String(argument[argument.index(after: colon)...]))
        else { return nil }
        self.init(name: String(argument[..<colon]), kind: kind)
    }
}
