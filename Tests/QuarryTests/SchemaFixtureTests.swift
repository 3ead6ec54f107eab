import Foundation
import Quarry
import QuarryIndex
import QuarryStore
import Testing

/// The committed fixtures of schema versions 2 and 3, read byte by byte against the layout
/// QuarrySchema documents. The expected bytes are written out here from that documentation, not
/// produced by the encoders, so a change made to an encoder and its decoder alike fails here.
@Suite(.serialized) struct SchemaFixtureTests {
    let temporary = TemporaryDirectory()
    var scratch: String { temporary.path }

    // MARK: Bytes as the documentation gives them (written here, independent of QuarrySchema)

    func be32(_ value: UInt32) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    func be64(_ value: UInt64) -> [UInt8] { (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Every entry of database `name` in the environment at `path`, in key order.
    func entries(_ path: String, _ name: String) throws -> [(key: [UInt8], value: [UInt8])] {
        let environment = try LMDBEnvironment(directory: path, options: .init(readOnly: true))
        let database = try environment.openDatabase(name)
        return try environment.read { txn in
            var found: [(key: [UInt8], value: [UInt8])] = []
            try txn.forEach(database) { key, value in
                found.append(([UInt8](key), [UInt8](value)))
                return true
            }
            return found
        }
    }

    /// The value under `key` in database `name`.
    func value(_ path: String, _ name: String, _ key: [UInt8]) throws -> [UInt8]? {
        try entries(path, name).first { $0.key == key }?.value
    }

    static let databaseNames = ["meta", "centroids", "lists", "vectors", "keys", "idkeys", "docs", "spills"]

    // MARK: The vector fixture

    /// The 1-bit code of a fixture row, by its cluster (row % 3): value d is bit 0x80 >> d % 8
    /// of byte d / 8, set when ≥ 0; cluster c's rows are negative where (d + 2c) % 3 == 0.
    func code(ofRow row: Int) -> [UInt8] {
        [[0x6D, 0xB6], [0xB6, 0xDB], [0xDB, 0x6D]][row % 3] + [0, 0, 0, 0, 0, 0]
    }

    @Test func vectorFixtureHoldsTheDocumentedBytes() throws {
        let path = try SchemaFixtures.copy(SchemaFixtures.vectorsVersion2, into: scratch)
        for name in Self.databaseNames { _ = try entries(path, name) }  // each database exists by its name
        #expect(
            try value(path, "meta", utf8("manifest"))
                == utf8(
                    #"{"blockCapacity":4,"dimension":16,"format":"quarry-collection","listCount":3,"#
                        + #""metric":"cosine","requestedListCount":3,"schemaVersion":2,"spillPenalty":1,"#
                        + #""trainingSize":18}"#))
        #expect(try value(path, "meta", utf8("next_id")) == [0, 0, 0, 0, 0, 0, 0, 18])
        // Keys sort bytewise: "v10"..."v17" come between "v1" and "v2".
        let sortedKeys = ["v0", "v1"] + (10...17).map { "v\($0)" } + (2...9).map { "v\($0)" }
        #expect(try entries(path, "keys").map(\.key) == sortedKeys.map(utf8))
        #expect(try value(path, "keys", utf8("v5")) == [0, 0, 0, 0, 0, 0, 0, 5])
        #expect(try value(path, "idkeys", [0, 0, 0, 0, 0, 0, 0, 17]) == utf8("v17"))
        #expect(try value(path, "spills", [0, 0, 0, 0, 0, 0, 0, 5]) == [0, 0, 0, 1])
        #expect(
            try entries(path, "spills").map(\.value)
                == [2, 2, 0, 0, 1, 1, 2, 2, 0, 0, 2, 0, 2, 2, 0, 0, 1, 1].map(be32))

        let centroidBits: [UInt32] = [
            0x3E31_E434, 0xBE6E_9964, 0x3E6A_C6D7, 0x3E93_BE03, 0xBE92_10E3, 0x3E8B_5257, 0x3E87_A68C, 0xBE36_8FAF,
            0x3E73_44DF, 0x3E6F_7250, 0xBE96_13C0, 0x3E94_66A0, 0x3E8D_A814, 0xBE89_FC48, 0x3E3B_3B28, 0x3E77_F058,
        ]
        #expect(try value(path, "centroids", [0, 0, 0, 0]) == centroidBits.flatMap(le32))
        let squaredNorm = centroidBits.map { Double(Float(bitPattern: $0)) }.reduce(0) { $0 + $1 * $1 }
        #expect(abs(squaredNorm - 1) < 1e-5)
        #expect(try entries(path, "centroids").map(\.key) == [be32(0), be32(1), be32(2)])

        // Blocks of at most 4 entries: lists 0 and 2 have 4 blocks (13 entries), list 1 has 3 (10).
        let blockKeys: [(UInt32, UInt32)] = [
            (0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2), (2, 3),
        ]
        #expect(try entries(path, "lists").map(\.key) == blockKeys.map { be32($0) + be32($1) })
        func block(_ ids: [UInt64]) -> [UInt8] {
            le32(UInt32(ids.count)) + le32(0) + ids.flatMap(le64) + ids.flatMap { code(ofRow: Int($0)) }
        }
        #expect(try value(path, "lists", be32(0) + be32(0)) == block([1, 2, 3, 4]))
        #expect(try value(path, "lists", be32(0) + be32(3)) == block([16]))
        #expect(try value(path, "lists", be32(1) + be32(0)) == block([0, 3, 4, 5]))
        #expect(try value(path, "lists", be32(1) + be32(2)) == block([16, 17]))
        #expect(try value(path, "lists", be32(2) + be32(0)) == block([0, 1, 2, 5]))

        // Segment 0 holds the 18 records back to back, 16 + 8 bytes each.
        let segment = try #require(try value(path, "vectors", [0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(segment.count == 18 * 24)
        let record5: [UInt8] = [45, 58, 185, 84, 97, 236, 33, 46, 197, 72, 85, 158, 21, 34, 209, 60]
        #expect(Array(segment[5 * 24..<6 * 24]) == record5 + le32(0x437B_CB27) + le32(2))
        let values5 = record5.map { Double(Int8(bitPattern: $0)) }
        #expect(abs(Double(Float(bitPattern: 0x437B_CB27)) - values5.reduce(0) { $0 + $1 * $1 }.squareRoot()) < 1e-3)
        #expect(record5.map { Int8(bitPattern: $0) } == Array(SchemaFixtures.vectorValues[5 * 16..<6 * 16]))
    }

    @Test func vectorFixtureSearchesAsItDid() throws {
        let path = try SchemaFixtures.copy(SchemaFixtures.vectorsVersion2, into: scratch)
        let collection = try QuarryCollection.open(at: path)
        let expected: [(row: Int, keys: [String], scores: [Float])] = [
            (1, ["v1", "v13", "v16", "v4", "v10"], [1.0, 0.998_733_4, 0.877_158, 0.772_589_5, 0.751_129_7]),
            (5, ["v5", "v17", "v2", "v8", "v14"], [1.0, 0.999_196, 0.867_430_7, 0.804_922_9, 0.796_933_53]),
        ]
        for (row, keys, scores) in expected {
            let query = try collection.prepare(int8: Array(SchemaFixtures.vectorValues[row * 16..<(row + 1) * 16]))
            // One probe: the nearest centroid's list (and what was spilled into it) must hold them.
            for nprobe in [1, 3] {
                let hits = try collection.search(query, k: 5, nprobe: nprobe, oversample: 10)
                #expect(hits.map(\.key) == keys, "row \(row), nprobe \(nprobe)")
                #expect(hits.count == 5 && zip(hits, scores).allSatisfy { abs($0.score - $1) < 1e-5 })
            }
        }
        let stats = try collection.stats()
        #expect(stats.smallestList == 10 && stats.largestList == 13)
        let report = try collection.checkIntegrity()
        #expect(report.problems.isEmpty)
        #expect(report.vectors == 18 && report.spilledVectors == 18 && report.listEntries == 36)
    }

    // MARK: The document fixture

    @Test func documentFixtureHoldsTheDocumentedBytes() throws {
        let path = try SchemaFixtures.copy(SchemaFixtures.documentsVersion2, into: scratch)
        #expect(
            try value(path, "meta", utf8("manifest"))
                == utf8(
                    #"{"blockCapacity":256,"dimension":384,"format":"quarry-collection","listCount":1,"#
                        + #""metric":"cosine","model":"all-MiniLM-L6-v2","quantization":{"calibrated":{"scale":827.0521}},"#
                        + #""requestedListCount":1,"schemaVersion":2,"trainingSize":3}"#))
        #expect(try value(path, "meta", utf8("next_id")) == be64(3))
        // A chunk's vector key: the document key, U+001F, the chunk number in decimal.
        #expect(try value(path, "keys", utf8("doc-1") + [0x1F] + utf8("0")) == be64(1))
        #expect(try value(path, "idkeys", be64(1)) == utf8("doc-1\u{1F}0"))
        let record = try #require(try value(path, "docs", utf8("doc-1")))
        #expect(Array(record.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])  // a zstd frame
        #expect(
            try Zstd.decompress(record)
                == utf8(
                    #"{"chunks":[[0,142]],"fingerprint":"74c2405e13cd92c","key":"doc-1","#
                        + #""metadata":{"rank":1,"topic":"database"},"#
                        + #""text":"Document 1 is about the database. It explains how a database works, "#
                        + #"why people care about the database, and what to read next about databases. ","#
                        + #""title":"All about database 1","url":"https://example.org/1"}"#))
        // 384 dimensions: 1,536-byte centroid rows, 48-byte codes.
        #expect(try value(path, "centroids", be32(0))?.count == 384 * 4)
        let block = try #require(try value(path, "lists", be32(0) + be32(0)))
        #expect(block.count == 8 + 3 * (8 + 48))
        #expect(Array(block.prefix(32)) == le32(3) + le32(0) + le64(0) + le64(1) + le64(2))
        #expect(try value(path, "vectors", be64(0))?.count == 3 * (384 + 8))
        #expect(try entries(path, "spills").isEmpty)
    }

    @Test func documentFixtureSearchesAsItDid() throws {
        let path = try SchemaFixtures.copy(SchemaFixtures.documentsVersion2, into: scratch)
        let collection = try QuarryCollection.open(at: path)
        let hits = try collection.searchDocuments(
            collection.storedQuery(key: "doc-1"), k: 3, nprobe: 1, oversample: 10, byDocument: true)
        #expect(hits.map(\.key) == ["doc-1", "doc-2", "doc-0"])
        let expected: [Float] = [1.0, 0.473_856_87, 0.396_341_03]
        #expect(hits.count == 3 && zip(hits, expected).allSatisfy { abs($0.score - $1) < 1e-5 })
        #expect(
            try collection.document(key: "doc-2")?.chunkText(0).hasPrefix("Document 2 is about the garden.") == true)
        let report = try collection.checkIntegrity()
        #expect(report.problems.isEmpty && report.documents == 3 && report.vectors == 3)
    }

    // MARK: Attribute indexes (schema version 3)

    func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }

    /// An attribute record entry as documented: field (u16 LE), tag, then the value.
    func keywordEntry(_ field: UInt16, _ text: String) -> [UInt8] {
        le16(field) + [0] + le16(UInt16(text.utf8.count)) + utf8(text)
    }
    func numberEntry(_ field: UInt16, _ value: Double) -> [UInt8] { le16(field) + [1] + le64(value.bitPattern) }

    @Test func documentFixtureHoldsTheDocumentedAttributeBytes() throws {
        let path = try SchemaFixtures.copy(SchemaFixtures.documents, into: scratch)
        let manifest = String(decoding: try #require(try value(path, "meta", utf8("manifest"))), as: UTF8.self)
        #expect(manifest.contains(#""schemaVersion":3"#) && manifest.contains(#""infersFields":true"#))
        // Built-in fields 0-3, then the metadata fields in the order first seen (sorted by name).
        #expect(
            manifest.contains(
                #""fields":[{"kind":"keyword","name":"lang"},{"kind":"keyword","name":"site"},"#
                    + #"{"kind":"keyword","name":"host"},{"kind":"date","name":"ingested"},"#
                    + #"{"kind":"number","name":"metadata.rank"},{"kind":"keyword","name":"metadata.topic"}]"#))
        // Every live vector under field 0xFFFF, value "": chunk 0, sparse offsets 0, 1, 2.
        #expect(try value(path, "postings", be16(0xFFFF) + be16(0) + be32(0)) == le16(0) + le16(1) + le16(2))
        // site (field 1) = example.org holds all three; topic (field 5) = garden only doc-2's vector.
        #expect(
            try value(path, "postings", be16(1) + be16(11) + utf8("example.org") + be32(0))
                == le16(0) + le16(1) + le16(2))
        #expect(try value(path, "postings", be16(5) + be16(6) + utf8("garden") + be32(0)) == le16(2))
        // Numeric columns: 4,096 Float64 LE per segment, NaN where an id has no value.
        let ranks = try #require(try value(path, "columns", be16(4) + be64(0)))
        #expect(ranks.count == 4_096 * 8)
        #expect(Array(ranks[8..<16]) == le64(Double(1).bitPattern))
        #expect(Double(bitPattern: UInt64(ranks[24..<32].reversed().reduce(0) { $0 << 8 | UInt64($1) })).isNaN)
        let ingested = try #require(try value(path, "columns", be16(3) + be64(0)))
        #expect(Array(ingested[16..<24]) == le64(SchemaFixtures.ingestTime.bitPattern))
        // Vector 1's record: its entries in the order indexed (host, site, ingested, metadata by name).
        #expect(
            try value(path, "attrs", be64(1))
                == le16(5) + keywordEntry(2, "example.org") + keywordEntry(1, "example.org")
                + numberEntry(3, SchemaFixtures.ingestTime) + numberEntry(4, 1) + keywordEntry(5, "database"))
    }

    @Test func aVersion2CollectionFiltersOnceItsFieldsAreIndexed() async throws {
        let path = try SchemaFixtures.copy(SchemaFixtures.documentsVersion2, into: scratch)
        let collection = try QuarryCollection.open(at: path)
        let query = try collection.storedQuery(key: "doc-1")
        let garden = try FilterExpression(infix: "metadata.topic = garden")
        let refused = #expect(throws: QuarryError.self) { try collection.search(query, k: 3, filter: garden) }
        #expect(refused?.description.contains("quarry index-fields") == true)
        // Unfiltered, it searches as it did.
        #expect(try collection.search(query, k: 3, nprobe: 1).count == 3)
        let indexed = try await runQuarry(["index-fields", path])
        #expect(indexed.status == 0 && indexed.errors.contains("metadata.topic (keyword)"), "\(indexed.errors)")
        #expect(collection.manifest.schemaVersion == 3)
        #expect(try collection.search(query, k: 3, filter: garden).map(\.key) == ["doc-2\u{1F}0"])
        #expect(try collection.checkIntegrity().isConsistent)
    }

    @Test func aWriteToAVersion2CollectionIndexesItsVectors() throws {
        let path = try SchemaFixtures.copy(SchemaFixtures.vectorsVersion2, into: scratch)
        let collection = try QuarryCollection.open(at: path)
        try collection.delete(keys: ["v3"])
        #expect(collection.manifest.schemaVersion == 3)
        // Bare vectors have no fields: a negation matches every live one, v3 no more.
        let everything = try FilterExpression(infix: "NOT lang = xx")
        let counts = try collection.filterMatches(everything)
        #expect(counts.matches == 17 && counts.live == 17)
        let query = try collection.prepare(int8: Array(SchemaFixtures.vectorValues[3 * 16..<4 * 16]))
        #expect(try collection.search(query, k: 17, nprobe: 3, oversample: 4, filter: everything).count == 17)
    }

    // MARK: Versions

    /// A copy of the vector fixture whose manifest says schema version `version`.
    func fixture(withSchemaVersion version: Int) throws -> String {
        let path = try SchemaFixtures.copy(SchemaFixtures.vectorsVersion2, into: scratch)
        let environment = try LMDBEnvironment(directory: path, options: .init())
        let meta = try environment.openDatabase("meta")
        try environment.write { txn in
            let stored = String(decoding: try #require(try txn.get(meta, key: utf8("manifest"))), as: UTF8.self)
            let edited = stored.replacingOccurrences(of: #""schemaVersion":2"#, with: "\"schemaVersion\":\(version)")
            #expect(edited != stored)
            try txn.put(meta, key: utf8("manifest"), value: utf8(edited))
        }
        return path
    }

    @Test func aNewerSchemaIsRefusedWithTheVersionsAndWhatToRun() async throws {
        let path = try fixture(withSchemaVersion: 4)
        let error = #expect(throws: QuarryError.self) { try QuarryCollection.open(at: path) }
        #expect(error == .incompatibleSchema(path: path, found: 4, readable: 2...3))
        #expect(error?.kind == .unsupported)
        let message = error?.description ?? ""
        #expect(message.contains("schema version 4") && message.contains("2...3"))
        #expect(message.contains("newer Quarry build"))
        let check = try await runQuarry(["check", path])
        #expect(check.status != 0 && check.errors.contains("schema version 4"))
    }

    @Test func anOlderSchemaIsRefusedWithTheCommandsToRebuildIt() throws {
        let path = try fixture(withSchemaVersion: 1)
        let error = #expect(throws: QuarryError.self) { try QuarryCollection.open(at: path) }
        #expect(error == .incompatibleSchema(path: path, found: 1, readable: 2...3))
        #expect(error?.description.contains("`quarry create`") == true)
    }

    @Test func quarryCheckPassesBothFixtures() async throws {
        for name in [
            SchemaFixtures.vectors, SchemaFixtures.documents, SchemaFixtures.vectorsVersion2,
            SchemaFixtures.documentsVersion2,
        ] {
            let check = try await runQuarry(["check", try SchemaFixtures.copy(name, into: scratch)])
            #expect(check.status == 0, "\(name): \(check.errors)")
        }
    }

    // MARK: Rebuilding

    /// A fresh build stores the same bytes wherever they do not depend on floating-point
    /// training; with QUARRY_WRITE_SCHEMA_FIXTURES=1 it rewrites the fixtures instead.
    @Test func rebuildingMatchesTheCommittedFixtures() throws {
        let write = ProcessInfo.processInfo.environment[SchemaFixtures.writeVariable] == "1"
        let fixtures: [(String, (String, String) throws -> Void, [String])] = [
            (SchemaFixtures.vectors, SchemaFixtures.buildVectors, ["meta", "keys", "idkeys", "vectors", "docs"]),
            (
                SchemaFixtures.documents, SchemaFixtures.buildDocuments,
                ["keys", "idkeys", "docs", "attrs", "postings", "columns"]
            ),
        ]
        for (name, build, deterministic) in fixtures {
            let destination = write ? SchemaFixtures.directory + "/" + name : scratch + "/fresh-" + name
            try SchemaFixtures.make(name, in: destination, scratch: scratch, build: build)
            guard !write else { continue }
            let committed = try SchemaFixtures.copy(name, into: scratch)
            for database in deterministic {
                let fresh = try entries(destination, database)
                let stored = try entries(committed, database)
                #expect(fresh.map(\.key) == stored.map(\.key), "\(name)/\(database) keys")
                #expect(fresh.map(\.value) == stored.map(\.value), "\(name)/\(database) values")
            }
        }
    }
}
