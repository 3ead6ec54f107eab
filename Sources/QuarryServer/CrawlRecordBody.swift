import Foundation
import Quarry

/// The crawl records of an ingest request's body: a JSON array of records, or one record per
/// line (NDJSON). Errors are `APIError.badRequest`, naming the record or line.
func crawlRecords(in body: Data) throws -> [CrawlRecord] {
    let decoder = JSONDecoder()
    let isArray =
        body.first(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) == UInt8(ascii: "[")
    var values: [(value: JSONValue?, source: String)] = []
    if isArray {
        guard let array = try? decoder.decode([JSONValue].self, from: body) else {
            throw APIError.badRequest("malformed JSON: expected an array of records or one record per line")
        }
        values = array.enumerated().map { ($1, "record \($0)") }
    } else {
        for (number, line) in body.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            guard line.contains(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0D) }) else { continue }
            values.append((try? decoder.decode(JSONValue.self, from: Data(line)), "line \(number + 1)"))
        }
    }
    return try values.map { value, source in
        guard let value else { throw APIError.badRequest("\(source): malformed JSON") }
        guard case .object(let object) = value else {
            throw APIError.badRequest("\(source): a record must be a JSON object")
        }
        return try CrawlRecord(json: object, source: source)
    }
}
