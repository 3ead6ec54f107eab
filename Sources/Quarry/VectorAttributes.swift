import Foundation
import QuarryStore

/// The fields of a bare vector, for filters: what a crawl record carries besides its text.
/// An attributes file gives one per vector, as JSON lines `{"lang", "url", "metadata"}`
/// (each optional), in the order of the vectors.
public struct VectorAttributes: Sendable, Equatable {
    public var lang: String?
    public var url: String?
    public var metadata: JSONValue?

    public init(lang: String? = nil, url: String? = nil, metadata: JSONValue? = nil) {
        self.lang = lang
        self.url = url
        self.metadata = metadata
    }

    /// One per line of the JSON-lines file at `path`; an error names the line of a malformed one.
    public static func read(path: String) throws -> [VectorAttributes] {
        let reader = try InputReader(path: path)
        let decoder = JSONDecoder()
        var all: [VectorAttributes] = []
        var line = 0
        while let bytes = try reader.readLine() {
            line += 1
            let source = "\(path) line \(line)"
            guard case .object(let object)? = try? decoder.decode(JSONValue.self, from: Data(bytes)) else {
                throw QuarryError.invalidRecord(source: source, reason: "an attributes line must be a JSON object")
            }
            for key in object.keys where !["lang", "url", "metadata"].contains(key) {
                throw QuarryError.invalidRecord(
                    source: source, reason: "unknown field \"\(key)\" (lang, url, metadata)")
            }
            func text(_ name: String) throws -> String? {
                switch object[name] {
                case nil, .null?: return nil
                case .string(let value)?: return value
                default: throw QuarryError.invalidRecord(source: source, reason: "\"\(name)\" must be a string")
                }
            }
            all.append(VectorAttributes(lang: try text("lang"), url: try text("url"), metadata: object["metadata"]))
        }
        return all
    }
}
