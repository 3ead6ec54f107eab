import Foundation
import QuarryStore

/// One document of a crawl: its external key (the record's "id", else its "url"), its text
/// and optional fields.
public struct CrawlRecord: Sendable, Equatable, Codable {
    public var key: String
    public var text: String
    public var title: String?
    public var url: String?
    public var lang: String?
    public var metadata: JSONValue?

    public init(
        key: String, text: String, title: String? = nil, url: String? = nil, lang: String? = nil,
        metadata: JSONValue? = nil
    ) {
        self.key = key
        self.text = text
        self.title = title
        self.url = url
        self.lang = lang
        self.metadata = metadata
    }

    /// A record from one JSON object: {"id" (or "_id", or only "url"), "text", optional
    /// "title", "url", "lang", "metadata"}. Numeric ids are accepted and written as decimals.
    public init(json object: [String: JSONValue], source: String) throws {
        func field(_ name: String) throws -> String? {
            switch object[name] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            case .number(let value)? where name == "id" || name == "_id":
                return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            default: throw QuarryError.invalidRecord(source: source, reason: "\"\(name)\" must be a string")
            }
        }
        let url = try field("url")
        guard let key = try field("id") ?? field("_id") ?? url, !key.isEmpty else {
            throw QuarryError.invalidRecord(source: source, reason: "the record has no \"id\" or \"url\"")
        }
        guard let text = try field("text") else {
            throw QuarryError.invalidRecord(source: source, reason: "the record has no \"text\"")
        }
        self.init(
            key: key, text: text, title: try field("title"), url: url, lang: try field("lang"),
            metadata: object["metadata"])
    }
}

/// Reads crawl records from a file: JSON lines, or Common Crawl WET (WARC records of
/// extracted text, "conversion" records only), plain or gzip/zstd compressed (detected from
/// the content). Errors name the file and the line or record. A line, or a WET record's
/// content, longer than `maxRecordBytes` is an error (`InputError.tooLarge`).
public final class CrawlRecordReader {
    public let path: String
    private let input: InputReader
    private var format: Format?
    private var lineNumber = 0
    private var pendingLine: [UInt8]?
    private let decoder = JSONDecoder()

    private enum Format { case jsonLines, wet }

    public init(path: String, maxRecordBytes: Int = InputReader.defaultMaxRecordBytes) throws {
        self.path = path
        input = try InputReader(path: path, maxRecordBytes: maxRecordBytes)
    }

    /// The next record, or nil at the end of the file.
    public func next() throws -> CrawlRecord? {
        if format == nil {
            while let line = try readLine() {
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                format = line.starts(with: Array("WARC/".utf8)) ? .wet : .jsonLines
                pendingLine = line
                break
            }
        }
        switch format {
        case nil: return nil
        case .jsonLines?: return try nextJSONLine()
        case .wet?: return try nextWETRecord()
        }
    }

    private func readLine() throws -> [UInt8]? {
        if let line = pendingLine {
            pendingLine = nil
            return line
        }
        let line = try input.readLine()
        if line != nil { lineNumber += 1 }
        return line
    }

    private func nextJSONLine() throws -> CrawlRecord? {
        while let line = try readLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let source = "\(path) line \(lineNumber)"
            let value: JSONValue
            do {
                value = try decoder.decode(JSONValue.self, from: Data(line))
            } catch {
                throw QuarryError.invalidRecord(source: source, reason: "malformed JSON")
            }
            guard case .object(let object) = value else {
                throw QuarryError.invalidRecord(source: source, reason: "a record must be a JSON object")
            }
            return try CrawlRecord(json: object, source: source)
        }
        return nil
    }

    private func nextWETRecord() throws -> CrawlRecord? {
        while true {
            // Header: "WARC/1.0", then "Name: value" lines up to a blank line.
            var version: [UInt8]?
            while let line = try readLine() {
                if line.isEmpty { continue }
                version = line
                break
            }
            guard let version else { return nil }
            let start = lineNumber
            guard version.starts(with: Array("WARC/".utf8)) else {
                throw QuarryError.invalidRecord(
                    source: "\(path) line \(start)", reason: "expected a WARC/ record header")
            }
            var headers: [String: String] = [:]
            while let line = try readLine(), !line.isEmpty {
                let text = String(decoding: line, as: UTF8.self)
                guard let colon = text.firstIndex(of: ":") else { continue }
                headers[text[..<colon].lowercased()] = text[text.index(after: colon)...]
                    .trimmingCharacters(in: .whitespaces)
            }
            let source = "\(path) record at line \(start)"
            guard let length = headers["content-length"].flatMap(Int.init), length >= 0 else {
                throw QuarryError.invalidRecord(source: source, reason: "the record has no valid Content-Length")
            }
            guard length <= input.maxRecordBytes else {
                throw QuarryError.invalidRecord(
                    source: source,
                    reason: "Content-Length \(length) is over the limit of \(input.maxRecordBytes) bytes")
            }
            let body = try input.read(count: length)
            guard body.count == length else {
                throw QuarryError.invalidRecord(source: source, reason: "the file ends inside the record")
            }
            lineNumber += body.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            guard headers["warc-type"] == "conversion", let url = headers["warc-target-uri"] else { continue }
            // The URI is the record's key, so it may not be empty (as a JSON record's may not).
            guard !url.isEmpty else {
                throw QuarryError.invalidRecord(source: source, reason: "the record's WARC-Target-URI is empty")
            }
            let lang = headers["warc-identified-content-language"]?.split(separator: ",").first.map(String.init)
            var metadata: [String: JSONValue] = [:]
            for name in ["warc-date", "warc-record-id", "warc-refers-to"] {
                if let value = headers[name] { metadata[name] = .string(value) }
            }
            return CrawlRecord(
                key: url, text: String(decoding: body, as: UTF8.self), url: url, lang: lang,
                metadata: metadata.isEmpty ? nil : .object(metadata))
        }
    }
}
