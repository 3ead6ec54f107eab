import Foundation
import QuarryIndex
import QuarrySchema

/// A document as stored (zstd-compressed JSON in the `docs` database). The property names are
/// the stored JSON field names: renaming one breaks stored collections (see QuarrySchema).
public struct StoredDocument: Sendable, Codable, Equatable {
    public var key: String
    public var title: String?
    public var url: String?
    public var lang: String?
    public var metadata: JSONValue?
    public var text: String
    /// The chunks as UTF-8 byte ranges [start, end) of `text`, in order.
    public var chunks: [[Int]]
    /// A digest of the record and the chunking and model settings: an ingest skips a document
    /// whose stored fingerprint matches.
    public var fingerprint: String
    /// When this version of the document was ingested, in seconds since 1970 (UTC); nil in
    /// documents stored before schema version 3.
    public var ingested: Double?

    /// The text of chunk `index` (in time proportional to the chunk, not the document).
    public func chunkText(_ index: Int) -> String {
        guard chunks.indices.contains(index), chunks[index].count == 2 else { return "" }
        let utf8 = text.utf8
        let start = min(max(0, chunks[index][0]), utf8.count)
        let end = min(max(start, chunks[index][1]), utf8.count)
        let from = utf8.index(utf8.startIndex, offsetBy: start)
        return String(decoding: utf8[from..<utf8.index(from, offsetBy: end - start)], as: UTF8.self)
    }
}

/// A search hit resolved to its document.
public struct DocumentHit: Sendable, Codable, Equatable {
    /// The document's key (for a collection of bare vectors: the vector's key).
    public var key: String
    /// The chunk that matched (nil for bare vectors).
    public var chunk: Int?
    public var score: Float
    public var title: String?
    public var url: String?
    /// The start of the matching chunk.
    public var snippet: String?
    public var text: String?
    public var metadata: JSONValue?
}

extension DocumentHit {
    /// The bytes of the stored fields the hit carries (text, title, url, snippet, metadata as
    /// JSON), which bound the size of a search's answer.
    var storedFieldBytes: Int {
        let metadataBytes = metadata.map { (try? JSONEncoder().encode($0).count) ?? 0 } ?? 0
        return (text?.utf8.count ?? 0) + (title?.utf8.count ?? 0) + (url?.utf8.count ?? 0)
            + (snippet?.utf8.count ?? 0) + metadataBytes
    }
}

/// Which stored fields a document search resolves for its hits.
public enum DocumentFields: Sendable {
    /// Keys and scores only (no record is read).
    case none
    /// Title, url and a snippet of the matching chunk.
    case summary
    /// Also the whole text and the metadata.
    case full
}

extension QuarryCollection {
    /// The character that joins a document key and a chunk number into a vector key.
    static let chunkSeparator = Character(Unicode.Scalar(TextKey.chunkSeparator))
    /// The longest document key: room is left for the chunk number.
    public static let maxDocumentKeyBytes = TextKey.maxDocumentBytes
}
