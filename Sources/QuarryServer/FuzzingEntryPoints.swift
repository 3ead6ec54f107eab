import Foundation

/// The server's parsers of client bytes, visible to the fuzz harness (`Sources/QuarryFuzz`).
package enum ServerFuzzingEntryPoints {
    /// The request bodies `decodeRequest(kind:body:)` decodes, by kind number.
    package static let requestKinds = ["search", "create collection", "embeddings", "contextualized embeddings"]

    /// Decodes `body` as the request of kind `kind % requestKinds.count`, as the routes do.
    package static func decodeRequest(kind: Int, body: Data) throws {
        switch kind % requestKinds.count {
        case 0: _ = try decodeBody(SearchRequest.self, from: body).filterExpression()
        case 1: _ = try decodeBody(CreateCollectionRequest.self, from: body)
        case 2: _ = try decodeBody(EmbeddingsRequest.self, from: body)
        default: _ = try decodeBody(ContextualizedEmbeddingsRequest.self, from: body)
        }
    }

    /// The number of crawl records in an ingest request's body.
    package static func crawlRecordCount(in body: Data) throws -> Int {
        try crawlRecords(in: body).count
    }
}
