import ArgumentParser
import Foundation
import Quarry

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure recall, QPS and latency of search settings against exact neighbours.",
        discussion: """
            Prints one JSON object a line per (k, nprobe, oversample) setting, one for exact search, \
            and per k the fastest setting reaching --target recall. Queries run one at a time on one \
            thread unless --threads splits each search between threads or --batch searches them all \
            at once.
            """)

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "Query vectors (.npy, .fvecs, .bvecs), or with --qrels text queries (BEIR queries.jsonl).")
    var queries: String
    @Option(help: "Relevance judgements (BEIR qrels .tsv: query-id, corpus-id, score) for text queries.")
    var qrels: String?
    @Option(help: "With --qrels: the embedding model directory (default: the collection's).") var model: String?
    @OptionGroup var encoder: LocalEncoderOptions
    @Option(help: "Ground truth: int32/int64 .npy [nq, >=k] of 0-based row numbers in ingest order.")
    var groundTruth: String?
    @Option(help: "With --ground-truth: the keys file used at ingest, to map row numbers to keys.")
    var keys: String?
    @Flag(help: "Compute the ground truth by exact search over the collection.") var exact = false
    @Option(name: .short, help: "Cut-offs to evaluate (repeatable).") var k: [Int] = [10]
    @Option(parsing: .upToNextOption, help: "Probe counts to try.") var nprobe: [Int] = []
    @Option(parsing: .upToNextOption, help: "Oversampling factors to try.") var oversample: [Double] = [2, 4, 8]
    @Option(parsing: .upToNextOption, help: "Prefilters to try: asymmetric, hamming, cascade.")
    var prefilter: [Prefilter] = [.asymmetric]
    @Option(help: "Report the fastest setting reaching this recall.") var target: Double = 0.95
    @Option(help: "Queries timed for the exact-search baseline line (0: none).") var exactQueries: Int = 20
    @Option(help: "Use only the first N queries.") var limit: Int?
    @Option(help: "Threads each search uses (with --batch: threads sharing the batch).") var threads: Int = 1
    @Flag(help: "Search all queries as one batch (QPS only; no per-query latency).") var batch = false
    @OptionGroup(title: "Filtered search (with --exact: recall against the exact filtered neighbours)")
    var filters: FilterOptions
    @Flag(help: "Report where each setting's search time goes, phase by phase (one query at a time only).")
    var profile = false
    @Flag(help: "JSON lines (the only output format; accepted for clarity).") var json = false

    struct SettingResult: Codable {
        var mode: String
        var threads: Int?
        var prefilter: String?
        var k: Int
        var nprobe: Int?
        var oversample: Double?
        var recall: Double
        var qps: Double
        var p50_ms: Double?
        var p99_ms: Double?
        var queries: Int
        /// With a filter: the share of vectors it matches.
        var selectivity: Double?
        /// With --profile: where the time went.
        var profile: SearchProfileReport?
    }

    struct TargetResult: Codable {
        var target: Double
        var k: Int
        var reached: Bool
        var best: SettingResult?
    }

    func run() throws {
        try reportingErrors {
            if let qrels {
                try RelevanceEvaluation(
                    directory: directory, queries: queries, qrels: qrels, model: model, weights: encoder.weights,
                    cutoffs: k, nprobe: nprobe,
                    oversample: oversample, limit: limit
                ).run()
                return
            }
            guard (groundTruth == nil) != !exact else {
                throw ValidationError("give exactly one of --ground-truth FILE or --exact")
            }
            guard k.allSatisfy({ $0 > 0 }) else { throw ValidationError("-k must be positive") }
            guard threads > 0 else { throw ValidationError("--threads must be positive") }
            let filter = try filters.expression()
            guard !(profile && batch) else { throw ValidationError("--profile times one query at a time, not --batch") }
            if filter != nil {
                guard exact else { throw ValidationError("a filter needs --exact: the ground truth is filtered too") }
                guard !batch else {
                    throw ValidationError("a filtered search is timed one query at a time, not --batch")
                }
            }
            let collection = try QuarryCollection.open(at: directory)
            var prepared = try QuerySet(path: queries, collection: collection).prepared
            if let limit { prepared = Array(prepared.prefix(max(0, limit))) }
            guard !prepared.isEmpty else { throw ValidationError("no queries in \(queries)") }
            printError("eval: reading the collection once so timings do not include first-touch page faults")
            try collection.warm()
            let maxK = k.max()!
            let truth = try groundTruthKeys(collection: collection, queries: prepared, k: maxK, filter: filter)
            var selectivity: Double?
            if let filter {
                let counts = try collection.filterMatches(filter)
                selectivity = counts.live == 0 ? 0 : Double(counts.matches) / Double(counts.live)
                printError("eval: the filter matches \(counts.matches) of \(counts.live) vectors")
            }
            let lists = collection.manifest.listCount
            let probeCounts =
                nprobe.isEmpty
                ? [1, 2, 4, 8, 16, 32, 64, 128, 256].filter { $0 <= lists } : nprobe
            for probes in probeCounts where probes > lists || probes <= 0 {
                throw ValidationError("nprobe \(probes) is outside 1...\(lists)")
            }
            var results: [SettingResult] = []
            let settings = prefilter.flatMap { kind in
                probeCounts.flatMap { probes in oversample.map { (kind, probes, $0) } }
            }
            for cutoff in k.sorted() {
                for (kind, probes, factor) in settings {
                    let result =
                        batch
                        ? try timeBatch(collection, prepared, truth, k: cutoff, probes: probes, factor, kind)
                        : try timeOneByOne(
                            collection, prepared, truth, k: cutoff, probes: probes, factor, kind,
                            filter: (filter, selectivity))
                    results.append(result)
                    emit(jsonLine(result))
                }
            }
            if exactQueries > 0 {
                let timed = Array(prepared.prefix(exactQueries))
                var latencies: [Double] = []
                var recall = 0.0
                let clock = ContinuousClock()
                for (index, query) in timed.enumerated() {
                    let begin = clock.now
                    let hits = try collection.exactSearch(query, k: maxK, filter: filter)
                    latencies.append((clock.now - begin).milliseconds)
                    recall += RetrievalMetrics.recall(retrieved: hits.map(\.key), truth: truth[index], k: maxK)
                }
                let total = latencies.reduce(0, +) / 1000
                emit(
                    jsonLine(
                        SettingResult(
                            mode: "exact", k: maxK, recall: recall / Double(timed.count),
                            qps: Double(timed.count) / total, p50_ms: RetrievalMetrics.percentile(latencies, 0.5),
                            p99_ms: RetrievalMetrics.percentile(latencies, 0.99), queries: timed.count,
                            selectivity: selectivity)))
            }
            for cutoff in k.sorted() {
                let best = results.filter { $0.k == cutoff && $0.recall >= target }.max { $0.qps < $1.qps }
                emit(jsonLine(TargetResult(target: target, k: cutoff, reached: best != nil, best: best)))
            }
        }
    }

    /// Times the queries one at a time (each split between `threads` threads).
    /// With `filter`, each search is filtered, and the result reports the filter's selectivity.
    private func timeOneByOne(
        _ collection: QuarryCollection, _ prepared: [PreparedQuery], _ truth: [[String]], k cutoff: Int, probes: Int,
        _ factor: Double, _ kind: Prefilter, filter: (expression: FilterExpression?, selectivity: Double?)
    ) throws -> SettingResult {
        // Warm the page cache and the searcher before timing.
        for query in prepared.prefix(20) {
            _ = try collection.search(
                query, k: cutoff, nprobe: probes, oversample: factor, prefilter: kind, threads: threads,
                filter: filter.expression)
        }
        var latencies: [Double] = []
        var found: [[Hit]] = []
        found.reserveCapacity(prepared.count)
        let phases = profile ? SearchProfile() : nil
        let clock = ContinuousClock()
        let started = clock.now
        for query in prepared {
            let begin = clock.now
            found.append(
                try collection.search(
                    query, k: cutoff, nprobe: probes, oversample: factor, prefilter: kind, threads: threads,
                    filter: filter.expression, profile: phases))
            latencies.append((clock.now - begin).milliseconds)
        }
        let elapsed = (clock.now - started).milliseconds / 1000
        let recall = zip(found, truth).reduce(0.0) { sum, pair in
            sum + RetrievalMetrics.recall(retrieved: pair.0.map(\.key), truth: pair.1, k: cutoff)
        }
        return SettingResult(
            mode: "ivf", threads: threads, prefilter: kind.rawValue, k: cutoff, nprobe: probes, oversample: factor,
            recall: recall / Double(prepared.count), qps: Double(prepared.count) / elapsed,
            p50_ms: RetrievalMetrics.percentile(latencies, 0.5),
            p99_ms: RetrievalMetrics.percentile(latencies, 0.99), queries: prepared.count,
            selectivity: filter.selectivity, profile: phases.map(SearchProfileReport.init))
    }

    /// Times one batched search of all the queries on `threads` threads.
    private func timeBatch(
        _ collection: QuarryCollection, _ prepared: [PreparedQuery], _ truth: [[String]], k cutoff: Int, probes: Int,
        _ factor: Double, _ kind: Prefilter
    ) throws -> SettingResult {
        _ = try collection.search(
            batch: Array(prepared.prefix(20)), k: cutoff, nprobe: probes, oversample: factor, prefilter: kind,
            threads: threads)
        let clock = ContinuousClock()
        let started = clock.now
        let found = try collection.search(
            batch: prepared, k: cutoff, nprobe: probes, oversample: factor, prefilter: kind, threads: threads)
        let elapsed = (clock.now - started).milliseconds / 1000
        let recall = zip(found, truth).reduce(0.0) { sum, pair in
            sum + RetrievalMetrics.recall(retrieved: pair.0.map(\.key), truth: pair.1, k: cutoff)
        }
        return SettingResult(
            mode: "ivf-batch", threads: threads, prefilter: kind.rawValue, k: cutoff, nprobe: probes,
            oversample: factor, recall: recall / Double(prepared.count), qps: Double(prepared.count) / elapsed,
            queries: prepared.count)
    }

    /// The true neighbours' keys per query, nearest first.
    private func groundTruthKeys(
        collection: QuarryCollection, queries: [PreparedQuery], k: Int, filter: FilterExpression?
    ) throws -> [[String]] {
        guard let groundTruth else {
            printError("eval: computing exact neighbours of \(queries.count) queries")
            return try collection.exactNeighbors(of: queries, k: k, filter: filter).map { $0.map(\.key) }
        }
        let rows = try NPYMatrix(path: groundTruth).integerRows()
        guard rows.count >= queries.count else {
            throw ValidationError("\(groundTruth) has \(rows.count) rows for \(queries.count) queries")
        }
        guard let width = rows.first?.count, width >= k else {
            throw ValidationError("\(groundTruth) has fewer than k = \(k) neighbours per query")
        }
        let keyList = try keys.map(readLines)
        return try rows.prefix(queries.count).map { row in
            try row.prefix(k).map { number in
                guard let keyList else { return String(number) }
                guard number >= 0, number < keyList.count else {
                    throw ValidationError("ground-truth row \(number) is outside the keys file")
                }
                return keyList[number]
            }
        }
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) * 1e-15 }
}
