import Foundation
import Quarry
import QuarryIndex
import QuarryStore

/// The committed collections of the current schema (Tests/QuarryTests/Fixtures/NAME/data.mdb)
/// and the code that made them. `scripts/make-schema-fixtures.sh` rewrites them; do that only
/// with a new schema version (and keep the old fixtures for its migration test).
enum SchemaFixtures {
    static let directory = repositoryRoot.appendingPathComponent("Tests/QuarryTests/Fixtures").path
    /// Set to rewrite the fixtures instead of checking them against a fresh build.
    static let writeVariable = "QUARRY_WRITE_SCHEMA_FIXTURES"

    /// 18 INT8 vectors of 16 dimensions in 3 clusters and 3 lists, each also spilled into a
    /// second list, with blocks of 4 entries so that lists span several blocks.
    static let vectors = "vectors-v3"
    /// 3 documents embedded with all-MiniLM-L6-v2 (384 dimensions) in 1 list, ingested at
    /// `ingestTime`, their fields indexed.
    static let documents = "documents-v3"
    /// The same fixtures as schema version 2 wrote them (before attribute indexes), kept for
    /// the upgrade test.
    static let vectorsVersion2 = "vectors-v2"
    static let documentsVersion2 = "documents-v2"
    /// The documents' ingest time: 2024-05-01T00:00:00Z.
    static let ingestTime = 1_714_521_600.0

    static let vectorDimension = 16
    static let vectorCount = 18
    static let blockCapacity = 4

    /// The fixture vectors: row r is in cluster r % 3, whose vectors are negative in the
    /// columns c with (c + 2 × cluster) % 3 == 0, with a spread of magnitudes.
    static let vectorValues: [Int8] = (0..<vectorCount).flatMap { row in
        (0..<vectorDimension).map { column in
            let magnitude = 10 + (row * 7 + column * 13) % 90
            return Int8((column + 2 * (row % 3)) % 3 == 0 ? -magnitude : magnitude)
        }
    }

    /// Builds the vector fixture, uncompacted, in `path`.
    static func buildVectors(at path: String, scratch: String) throws {
        let file = scratch + "/fixture-vectors.npy"
        try writeNPY(path: file, type: .int8, rows: vectorCount, columns: vectorDimension, values: vectorValues)
        _ = try QuarryCollection.create(at: path, dimension: vectorDimension, listCount: 3, spillPenalty: 1)
        // No API sets the block capacity; the fixture's is set in the manifest before the ingest
        // (in a scope of its own: the environment must be closed before the collection opens).
        do {
            let environment = try LMDBEnvironment(directory: path, options: .init())
            let meta = try environment.openDatabase("meta")
            try environment.write { txn in
                guard let stored = try txn.get(meta, key: Array("manifest".utf8)) else {
                    throw QuarryError.notACollection(path: path, reason: "no manifest")
                }
                let manifest = String(decoding: stored, as: UTF8.self)
                let edited = manifest.replacingOccurrences(
                    of: #""blockCapacity":256"#, with: #""blockCapacity":\#(blockCapacity)"#)
                guard edited != manifest else { throw QuarryError.invalidArgument("no block capacity in \(manifest)") }
                try txn.put(meta, key: Array("manifest".utf8), value: Array(edited.utf8))
            }
        }
        let collection = try QuarryCollection.open(at: path)
        _ = try collection.ingest(vectors: VectorFile(path: file), keys: (0..<vectorCount).map { "v\($0)" })
    }

    /// Builds the document fixture, uncompacted, in `path`.
    static func buildDocuments(at path: String, scratch: String) throws {
        let embedder = try sharedEmbedder.get()
        let records = scratch + "/fixture-documents.jsonl"
        try writeLines(sampleDocuments(count: 3), to: records)
        let collection = try QuarryCollection.create(at: path, dimension: embedder.dimension, listCount: 1)
        var options = DocumentIngestOptions()
        options.batchSize = 3
        options.trainingBatchSize = 3
        options.ingestTime = ingestTime
        _ = try collection.ingestDocuments(
            from: CrawlRecordReader(path: records), embedder: embedder, modelPath: "all-MiniLM-L6-v2", options: options)
    }

    /// Builds fixture `name` with `build`, compacts it, and leaves its `data.mdb` in `destination`.
    static func make(
        _ name: String, in destination: String, scratch: String, build: (String, String) throws -> Void
    ) throws {
        let built = scratch + "/built-" + name
        try build(built, scratch)
        _ = try QuarryCollection.compact(at: built)
        let files = FileManager.default
        try files.createDirectory(atPath: destination, withIntermediateDirectories: true)
        try? files.removeItem(atPath: destination + "/data.mdb")
        try files.copyItem(atPath: built + "/data.mdb", toPath: destination + "/data.mdb")
    }

    /// A fresh copy of fixture `name` in `scratch`, to open (opening writes LMDB's lock file).
    static func copy(_ name: String, into scratch: String) throws -> String {
        let copy = scratch + "/" + name + "-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: directory + "/" + name + "/data.mdb", toPath: copy + "/data.mdb")
        return copy
    }
}
