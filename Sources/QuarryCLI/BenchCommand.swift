import ArgumentParser
import Foundation
import Quarry

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark helpers.",
        subcommands: [SynthCommand.self, NeighbourhoodStatsCommand.self])
}

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate synthetic embeddings shaped like real ones, with held-out queries and exact ground truth.",
        discussion: """
            Writes OUT (base vectors, tanh-INT8 [n, dims]), OUT's stem + .queries.npy (INT8 [nq, dims], \
            drawn separately from the base) and + .gt.npy (int32 [nq, gt-k], base row numbers by exact \
            INT8 cosine, nearest first).
            """)

    @Option(help: "Base vectors.") var n: Int
    @Option(help: "Dimensions.") var dims: Int = 1024
    @Option(help: "Held-out queries.") var queries: Int = 1000
    @Option(help: "Neighbourhood shape: narrow (top-1000 in a few IVF lists) or wide (spread like real embeddings').")
    var shape: SyntheticShape = .narrow
    @Option(help: "Clusters (default: n / 500 for narrow, n / 8 for wide, at least 16).") var clusters: Int?
    @Option(help: "Neighbours per query in the ground truth.") var gtK: Int = 1000
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Output .npy path of the base vectors.") var out: String

    func run() throws {
        try reportingErrors {
            guard (1...1 << 34).contains(n), dims > 0, (1...1 << 20).contains(queries), (1...100_000).contains(gtK)
            else {
                throw ValidationError(
                    "--n must be between 1 and 2^34, --dims positive, --queries between 1 and 2^20, --gt-k between 1 and 100000"
                )
            }
            if let clusters, !(1...n).contains(clusters) {
                throw ValidationError("--clusters must be between 1 and --n (\(n)), got \(clusters)")
            }
            guard dims <= 1040 else {
                throw ValidationError("exact ground truth in float32 is exact up to 1040 dimensions")
            }
            let stem = out.hasSuffix(".npy") ? String(out.dropLast(4)) : out
            let generator = SyntheticEmbeddings(
                dimension: dims, clusterCount: clusters ?? shape.shape.clusterCount(for: n), seed: seed,
                shape: shape.shape)
            let writer = try NPYWriter(path: stem + ".npy", type: .int8, rows: n, columns: dims)
            var written = 0
            while written < n {
                let rows = min(65_536, n - written)
                try writer.append(generator.int8Rows(first: written, count: rows))
                written += rows
                printError("synth: \(written)/\(n) base vectors")
            }
            try writer.finish()
            let queryValues = generator.int8Rows(first: 0, count: queries, queries: true)
            try writeNPY(path: stem + ".queries.npy", type: .int8, rows: queries, columns: dims, values: queryValues)
            printError("synth: computing exact top-\(gtK) of \(queries) queries")
            let base = try VectorFile(path: stem + ".npy")
            let k = min(gtK, n)
            let truth = base.withRows { row in
                ExactNeighbors.compute(queries: queryValues, dimension: dims, baseCount: n, k: k) {
                    row($0).assumingMemoryBound(to: Int8.self)
                }
            }
            try writeNPY(
                path: stem + ".gt.npy", type: .int32, rows: queries, columns: k,
                values: truth.flatMap { $0.map { Int32($0.id) } })
            printError("synth: wrote \(stem).npy, \(stem).queries.npy, \(stem).gt.npy")
        }
    }
}

/// The generator's neighbourhood shapes, as the CLI names them.
enum SyntheticShape: String, ExpressibleByArgument, CaseIterable {
    case narrow, wide
    var shape: SyntheticEmbeddings.Shape { self == .narrow ? .narrow : .wide }
}
