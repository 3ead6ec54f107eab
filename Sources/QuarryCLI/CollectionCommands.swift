import ArgumentParser
import Foundation
import Quarry
import QuarryIndex

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an empty collection (one LMDB environment) in DIR.")

    @Argument(help: "The collection directory (must not exist or be empty).") var directory: String
    @Option(help: "Vector dimension.") var dims: Int
    @Option(help: "Posting lists of the coarse quantizer (default: about 4·√n at the first ingest).")
    var nlist: Int?

    func run() throws {
        try reportingErrors {
            _ = try Collection.create(at: directory, dimension: dims, listCount: nlist)
            printError("created \(directory) (\(dims) dimensions)")
        }
    }
}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Add vectors to a collection (upsert by key), training its index on first use.")

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "Vectors: .npy (float32, float16, int8; [n, dims], C order), .fvecs or .bvecs.")
    var vectors: String
    @Option(help: "A text file with one external key per vector (default: the row numbers).")
    var keys: String?
    @Option(help: "Quantization of float input: tanh (pplx-embed) or calibrated.")
    var quantize: String?
    @Option(help: "Vectors per write transaction.") var batchSize: Int = 20_000
    @Flag(help: "Print the ingest report as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            var options = IngestOptions()
            if let quantize {
                guard let choice = QuantizationChoice(rawValue: quantize) else {
                    throw ValidationError("--quantize must be tanh or calibrated, not '\(quantize)'")
                }
                options.quantization = choice
            }
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
            options.batchSize = batchSize
            options.progress = { printError($0) }
            let collection = try Collection.open(at: directory)
            let file = try VectorFile(path: vectors)
            let keyList = try keys.map(readLines)
            let report = try collection.ingest(vectors: file, keys: keyList, options: options)
            if json {
                print(jsonLine(report))
            } else {
                printError(
                    "added \(report.added), replaced \(report.replaced), unchanged \(report.unchanged); "
                        + String(
                            format: "train %.1fs, assign %.1fs, write %.1fs", report.trainSeconds,
                            report.assignSeconds, report.writeSeconds))
            }
        }
    }
}

/// The non-empty lines of a text file.
func readLines(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ValidationError("cannot read \(path)")
    }
    var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    if lines.last == "" { lines.removeLast() }
    return lines
}

extension Prefilter: ExpressibleByArgument {}

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search", abstract: "Search a collection with query vectors.")

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "Query vectors (.npy, .fvecs, .bvecs).") var vectors: String
    @Option(name: .short, help: "Results per query.") var k: Int = 10
    @Option(help: "Posting lists probed per query.") var nprobe: Int?
    @Option(help: "Candidates rescored, as a multiple of k.") var oversample: Double?
    @Option(help: "How the 1-bit prefilter scores codes: asymmetric or hamming.") var prefilter: Prefilter = .asymmetric
    @Flag(help: "Brute-force INT8 cosine over every vector (the ground truth).") var exact = false
    @Flag(help: "One JSON object per query.") var json = false

    func run() throws {
        try reportingErrors {
            let collection = try Collection.open(at: directory)
            let queries = try QuerySet(path: vectors, collection: collection)
            _ = try collection.searchParameters(k: k, nprobe: nprobe, oversample: oversample)
            for (index, query) in queries.prepared.enumerated() {
                let hits =
                    exact
                    ? try collection.exactSearch(query, k: k)
                    : try collection.search(
                        query, k: k, nprobe: nprobe, oversample: oversample, prefilter: prefilter)
                if json {
                    print(jsonLine(QueryResult(query: index, hits: hits)))
                } else {
                    print("query \(index):")
                    for (rank, hit) in hits.enumerated() {
                        print(String(format: "  %4d  %.4f  %@", rank + 1, hit.score, hit.key))
                    }
                }
            }
        }
    }

    struct QueryResult: Encodable {
        var query: Int
        var hits: [Hit]
    }
}

/// Query vectors read from a file and prepared for a collection.
struct QuerySet {
    let prepared: [PreparedQuery]

    init(path: String, collection: Collection) throws {
        let file = try VectorFile(path: path)
        let dimension = collection.manifest.dimension
        guard file.dimension == dimension else {
            throw QuarryError.dimensionMismatch(expected: dimension, found: file.dimension, source: path)
        }
        if let row = file.firstNonFiniteRow() { throw QuarryError.nonFiniteValue(source: path, row: row) }
        var row = [Float](repeating: 0, count: dimension)
        prepared = try (0..<file.count).map { index in
            if file.elementType == .int8 {
                return try file.withRow(index) { pointer in
                    try collection.prepare(
                        int8: Array(
                            UnsafeBufferPointer(start: pointer.assumingMemoryBound(to: Int8.self), count: dimension)))
                }
            }
            row.withUnsafeMutableBufferPointer { file.floatRow(index, into: $0.baseAddress!) }
            return try collection.prepare(query: row)
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Counts, dimensions, lists, list-size spread and bytes on disk.")

    @Argument(help: "The collection directory.") var directory: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let stats = try Collection.open(at: directory).stats()
            if json {
                print(jsonLine(stats))
            } else {
                print("vectors      \(stats.vectors)")
                print("dimension    \(stats.dimension)")
                print(
                    "lists        \(stats.lists) (sizes \(stats.smallestList)...\(stats.largestList), mean \(String(format: "%.1f", stats.meanListSize)), \(stats.emptyLists) empty)"
                )
                print("quantization \(stats.quantization ?? "none (INT8 input)")")
                print("disk         \(stats.bytesOnDisk) bytes")
            }
        }
    }
}
