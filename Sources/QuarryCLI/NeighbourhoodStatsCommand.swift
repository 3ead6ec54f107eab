import ArgumentParser
import Foundation
import Quarry

/// `quarry bench stats`: how wide a data set's neighbourhoods are (see `NeighbourhoodStatistics`).
struct NeighbourhoodStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Measure how wide a vector set's neighbourhoods are: neighbour cosines and IVF list spread.",
        discussion: """
            Prints the median cosine of each query's 1st, 10th, 100th and 1000th exact neighbour, of random \
            base pairs, and the median number of spherical k-means lists (4·√n by default, as a collection \
            trains) holding a query's true top-10 and top-1000. Float inputs are quantized to INT8 first \
            (the calibrated quantization, as ingest does). Without --ground-truth the exact top-1000 is \
            computed (and written with --write-ground-truth).
            """)

    @Option(help: "Base vectors (.npy/.fvecs/.bvecs, INT8 or float).") var base: String
    @Option(help: "Query vectors, same dimension.") var queries: String
    @Option(help: "Exact neighbours as base row numbers (.npy [nq, k], nearest first).") var groundTruth: String?
    @Option(help: "Write the computed exact top-1000 here (.npy int32).") var writeGroundTruth: String?
    @Option(help: "Queries used (the first N).") var limit: Int = 500
    @Option(help: "IVF lists (default: what a collection of this size trains).") var lists: Int?
    @Option(help: "Base rows the k-means trains on.") var trainingSample: Int = 100_000
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let baseFile = try VectorFile(path: base)
            let queryFile = try VectorFile(path: queries)
            guard queryFile.dimension == baseFile.dimension else {
                throw ValidationError(
                    "--queries has \(queryFile.dimension) dimensions, --base \(baseFile.dimension)")
            }
            guard baseFile.count >= 2, (1...100_000).contains(limit), (1...1 << 24).contains(trainingSample) else {
                throw ValidationError(
                    "--base needs at least 2 rows, --limit must be in 1...100000, --training-sample in 1...2^24")
            }
            let dimension = baseFile.dimension
            let listCount = lists ?? CollectionManifest.defaultListCount(forVectorCount: baseFile.count)
            guard (1...baseFile.count).contains(listCount) else {
                throw ValidationError("--lists must be between 1 and the base count (\(baseFile.count))")
            }
            let quantization: Int8Quantization? = baseFile.isFloatingPoint ? .calibrate(on: baseFile) : nil
            let baseValues = int8Rows(baseFile, count: baseFile.count, quantization: quantization)
            let queryCount = min(limit, queryFile.count)
            let queryValues = int8Rows(queryFile, count: queryCount, quantization: quantization)
            let truth = try groundTruthRows(baseValues, queryValues, dimension: dimension, queryCount: queryCount)
            let statistics = baseValues.withUnsafeBufferPointer { values in
                NeighbourhoodStatistics.measure(
                    base: { values.baseAddress! + $0 * dimension }, baseCount: baseFile.count, dimension: dimension,
                    queries: queryValues, truth: truth, listCount: listCount, trainingSample: trainingSample)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(statistics), as: UTF8.self))
            } else {
                print(describe(statistics))
            }
        }
    }

    /// The first `count` rows of `file` as INT8, quantized when the file holds floats.
    private func int8Rows(_ file: VectorFile, count: Int, quantization: Int8Quantization?) -> [Int8] {
        let dimension = file.dimension
        var values = [Int8](repeating: 0, count: count * dimension)
        var floats = [Float](repeating: 0, count: dimension)
        values.withUnsafeMutableBufferPointer { out in
            for row in 0..<count {
                let target = out.baseAddress! + row * dimension
                if let quantization {
                    file.floatRow(row, into: &floats)
                    quantization.quantize(floats, count: dimension, into: target)
                } else {
                    file.withRow(row) { target.update(from: $0.assumingMemoryBound(to: Int8.self), count: dimension) }
                }
            }
        }
        return values
    }

    private func groundTruthRows(_ base: [Int8], _ queries: [Int8], dimension: Int, queryCount: Int) throws -> [[Int]] {
        if let groundTruth {
            let rows = try NPYMatrix(path: groundTruth).integerRows()
            guard rows.count >= queryCount else {
                throw ValidationError("\(groundTruth) has \(rows.count) rows for \(queryCount) queries")
            }
            return Array(rows.prefix(queryCount))
        }
        let baseCount = base.count / dimension
        printError("stats: computing the exact top-\(min(1000, baseCount)) of \(queryCount) queries")
        let truth = base.withUnsafeBufferPointer { values in
            ExactNeighbors.compute(
                queries: queries, dimension: dimension, baseCount: baseCount, k: min(1000, baseCount)
            ) {
                values.baseAddress! + $0 * dimension
            }.map { $0.map { Int($0.id) } }
        }
        if let writeGroundTruth {
            try writeNPY(
                path: writeGroundTruth, type: .int32, rows: queryCount, columns: truth.first?.count ?? 0,
                values: truth.flatMap { $0.map(Int32.init) })
        }
        return truth
    }

    private func describe(_ s: NeighbourhoodStatistics) -> String {
        let cosines = NeighbourhoodStatistics.ranks.compactMap { rank in
            s.neighbourCosines[rank].map { "\(rank): \(String(format: "%.3f", $0))" }
        }
        return """
            base \(s.baseCount), queries \(s.queryCount), lists \(s.listCount)
            median neighbour cosine  \(cosines.joined(separator: "  "))  random pairs: \(String(format: "%.3f", s.randomPairCosine))
            median lists holding     top-10: \(Int(s.listsHoldingTop10))  top-1000: \(Int(s.listsHoldingTop1000)) (\(String(format: "%.1f", 100 * s.top1000ListShare))% of lists)
            """
    }
}
