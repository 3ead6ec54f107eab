import Foundation
import QuarryEmbed
import QuarryIndex
import QuarrySchema
import QuarryStore

extension QuarryCollection {
    /// Searches and resolves hits to documents. With `byDocument`, chunk hits are folded to the
    /// best chunk per document and `k` documents are returned. The stored fields of the hits may
    /// add up to `maxResultBytes` (text and metadata counted as stored); beyond that the search
    /// fails with `limitExceeded` rather than build an unbounded answer. With `filter`, only
    /// documents that match it.
    public func searchDocuments(
        _ query: PreparedQuery, k: Int, nprobe: Int? = nil, oversample: Double? = nil, byDocument: Bool = false,
        fields: DocumentFields = .summary, excluding excludedKey: String? = nil, exact: Bool = false,
        maxResultBytes: Int = 64 << 20, filter: FilterExpression? = nil
    ) throws -> [DocumentHit] {
        try Limits.check(k, in: 1...Limits.maxK, "k")
        let extra = excludedKey == nil ? 0 : 1
        var fetch = min(byDocument ? (k + extra) * 4 : k + extra, Limits.maxK)
        // Each document's record is decoded once, however many of its chunks hit.
        var decoded: [String: StoredDocument?] = [:]
        while true {
            let hits =
                exact
                ? try exactSearch(query, k: fetch, filter: filter)
                : try search(query, k: fetch, nprobe: nprobe, oversample: oversample, filter: filter)
            var results: [DocumentHit] = []
            var seen = Set<String>()
            var fieldBytes = 0
            try environment.read { txn in
                for hit in hits {
                    let (key, chunk) = TextKey.splitChunk(hit.key)
                    if key == excludedKey { continue }
                    if byDocument && !seen.insert(key).inserted { continue }
                    var result = DocumentHit(key: key, chunk: chunk, score: hit.score)
                    if let chunk, fields != .none {
                        if decoded[key] == nil { decoded[key] = .some(try storedDocument(txn, key: key)) }
                        if let document = decoded[key] ?? nil {
                            result.title = document.title
                            result.url = document.url
                            result.snippet = String(document.chunkText(chunk).prefix(240))
                            if fields == .full {
                                result.text = document.text
                                result.metadata = document.metadata
                            }
                            fieldBytes += result.storedFieldBytes
                            guard fieldBytes <= maxResultBytes else {
                                throw QuarryError.limitExceeded(
                                    "the \(results.count + 1) hits' stored fields exceed \(maxResultBytes) bytes; "
                                        + "ask for fewer hits or fewer fields")
                            }
                        }
                    }
                    results.append(result)
                    if results.count == k { break }
                }
            }
            // Folding may leave fewer than k documents: fetch more chunks while there are more.
            if results.count >= k || hits.count < fetch || !byDocument || fetch == Limits.maxK { return results }
            fetch = min(fetch * 4, Limits.maxK)
        }
    }

    /// The query that stands for a stored document or vector: the mean of its chunk vectors.
    public func storedQuery(key: String) throws -> PreparedQuery {
        let dimension = manifest.dimension
        return try environment.read { txn in
            var vectorKeys: [[UInt8]] = []
            if let document = try storedDocument(txn, key: key) {
                vectorKeys = document.chunks.indices.map { TextKey.chunk(document: key, chunk: $0) }
            } else {
                vectorKeys = [TextKey.encode(key)]
            }
            var sum = [Int32](repeating: 0, count: dimension)
            var found = 0
            let records = VectorRecords(txn: txn, database: databases.vectors, dimension: dimension)
            for vectorKey in vectorKeys where !vectorKey.isEmpty && vectorKey.count <= Self.maxKeyBytes {
                guard
                    let id = try txn.get(databases.keys, key: vectorKey).map(InternalID.decode),
                    let stored = try records.vector(id: id)
                else { continue }
                for d in 0..<dimension { sum[d] += Int32(stored.values[d]) }
                found += 1
            }
            guard found > 0 else { throw QuarryError.documentNotFound(key: key) }
            return PreparedQuery(
                int8: sum.map { Int8(clamping: Int32((Double($0) / Double(found)).rounded())) })
        }
    }
}

extension QuarryCollection {
    /// Embeds a text query with `embedder` (truncated to the collection's dimensions, as
    /// Matryoshka models allow) and prepares it like the collection's vectors.
    public func prepare(text: String, embedder: any TextEmbedding) throws -> PreparedQuery {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw QuarryError.invalidArgument("the query text is empty")
        }
        let dimension = manifest.dimension
        guard embedder.dimension >= dimension else {
            throw QuarryError.dimensionMismatch(expected: dimension, found: embedder.dimension, source: "the model")
        }
        return try prepare(query: Array(try embedder.embed([text])[0].prefix(dimension)))
    }

    /// The model directory recorded at the first document ingest, or `override`.
    public func modelPath(override: String? = nil) throws -> String {
        guard let path = override ?? manifest.model else {
            throw QuarryError.invalidArgument(
                "\(self.path) records no model (it was not built from documents); name the model directory")
        }
        return path
    }
}
