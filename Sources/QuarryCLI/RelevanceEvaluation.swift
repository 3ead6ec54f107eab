import ArgumentParser
import Foundation
import Quarry

/// Evaluation of text queries against relevance judgements (BEIR layout): Recall@k and
/// nDCG@10 of the index, per search setting, beside the same figures from an exact scan.
struct RelevanceEvaluation {
    let directory: String
    let queries: String
    let qrels: String
    let model: String?
    let weights: WeightPrecision
    let cutoffs: [Int]
    let nprobe: [Int]
    let oversample: [Double]
    let limit: Int?

    struct Line: Encodable {
        var mode: String
        var nprobe: Int?
        var oversample: Double?
        var queries: Int
        var recall: [String: Double]
        var ndcg_at_10: Double
        var qps: Double
        var p50_ms: Double
        var p99_ms: Double
    }

    func run() throws {
        let collection = try QuarryCollection.open(at: directory)
        try collection.warm()
        let judgements = try Self.readQrels(qrels)
        var texts = try Self.readQueries(queries).filter { judgements[$0.id] != nil }
        if let limit { texts = Array(texts.prefix(max(0, limit))) }
        guard !texts.isEmpty else { throw ValidationError("no query in \(queries) has a judgement in \(qrels)") }
        let embedder = try Embedder(
            modelDirectory: URL(fileURLWithPath: try collection.modelPath(override: model)), weights: weights)
        printError("eval: embedding \(texts.count) queries")
        let dimension = collection.manifest.dimension
        let prepared = try embedder.embed(texts.map(\.text)).map {
            try collection.prepare(query: Array($0.prefix(dimension)))
        }
        let depth = max(cutoffs.max() ?? 10, 10)
        let lists = collection.manifest.listCount
        var settings: [(Int?, Double?)] = [(nil, nil)]
        if !nprobe.isEmpty || oversample != [2, 4, 8] {
            let probes = nprobe.isEmpty ? [nil] : nprobe.map { Optional($0) }
            settings = probes.flatMap { p in oversample.map { (p, Optional($0)) } }
        }
        for (probes, factor) in settings {
            if let probes, probes <= 0 || probes > lists {
                throw ValidationError("nprobe \(probes) is outside 1...\(lists)")
            }
            let line = try measure(mode: "ivf", nprobe: probes, oversample: factor, prepared, texts, judgements) {
                try collection.searchDocuments(
                    $0, k: depth, nprobe: probes, oversample: factor, byDocument: true, fields: .none)
            }
            emit(jsonLine(line))
        }
        let exact = try measure(mode: "exact", nprobe: nil, oversample: nil, prepared, texts, judgements) {
            try collection.searchDocuments($0, k: depth, byDocument: true, fields: .none, exact: true)
        }
        emit(jsonLine(exact))
    }

    private func measure(
        mode: String, nprobe: Int?, oversample: Double?, _ prepared: [PreparedQuery],
        _ texts: [(id: String, text: String)], _ judgements: [String: [String: Int]],
        search: (PreparedQuery) throws -> [DocumentHit]
    ) throws -> Line {
        var recall = [String: Double]()
        var ndcg = 0.0
        var latencies: [Double] = []
        let clock = ContinuousClock()
        for (index, query) in prepared.enumerated() {
            let started = clock.now
            let keys = try search(query).map(\.key)
            latencies.append((clock.now - started).milliseconds)
            let judged = judgements[texts[index].id]!
            for cutoff in cutoffs {
                recall["\(cutoff)", default: 0] += RetrievalMetrics.recall(
                    retrieved: keys, judgements: judged, k: cutoff)
            }
            ndcg += RetrievalMetrics.ndcg(retrieved: keys, judgements: judged, k: 10)
        }
        let count = Double(prepared.count)
        return Line(
            mode: mode, nprobe: nprobe, oversample: oversample, queries: prepared.count,
            recall: recall.mapValues { $0 / count }, ndcg_at_10: ndcg / count,
            qps: count / (latencies.reduce(0, +) / 1000), p50_ms: RetrievalMetrics.percentile(latencies, 0.5),
            p99_ms: RetrievalMetrics.percentile(latencies, 0.99))
    }

    /// BEIR queries: JSON lines with "_id" (or "id") and "text".
    static func readQueries(_ path: String) throws -> [(id: String, text: String)] {
        let reader = try CrawlRecordReader(path: path)
        var queries: [(String, String)] = []
        while let record = try reader.next() { queries.append((record.key, record.text)) }
        return queries
    }

    /// BEIR qrels: tab-separated query-id, corpus-id, score, with an optional header line.
    static func readQrels(_ path: String) throws -> [String: [String: Int]] {
        var judgements: [String: [String: Int]] = [:]
        for (number, line) in try readLines(path).enumerated() {
            let fields = line.split(separator: "\t").map(String.init)
            if number == 0 && fields.first == "query-id" { continue }
            guard fields.count >= 3, let score = Int(fields[2]) else {
                throw ValidationError("\(path) line \(number + 1): expected query-id<TAB>corpus-id<TAB>score")
            }
            if score > 0 { judgements[fields[0], default: [:]][fields[1]] = score }
        }
        return judgements
    }
}
