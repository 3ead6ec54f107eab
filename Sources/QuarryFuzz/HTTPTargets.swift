import Foundation
import QuarryServer

extension FuzzTarget {
    /// The server's request decoding: JSON bodies of each request type, and ingest bodies.
    static let httpTargets: [FuzzTarget] = [
        FuzzTarget(
            "http-request",
            "request bodies (decodeBody); the first byte picks search, create, embeddings, contextualized",
            isJSON: true
        ) { data, _ in
            guard let first = data.first else { return }
            try ServerFuzzingEntryPoints.decodeRequest(kind: Int(first), body: Data(data.dropFirst()))
        },
        FuzzTarget(
            "http-crawl-body", "ingest bodies: a JSON array or JSON lines of records (crawlRecords)", isJSON: true
        ) {
            data, _ in
            _ = try ServerFuzzingEntryPoints.crawlRecordCount(in: data)
        },
    ]
}
