import Foundation
import Quarry
import QuarryIndex
import Testing

@Suite struct BadInputTests {
    let temporary = TemporaryDirectory()
    var directory: String { temporary.path }

    /// A collection with 1000 vectors, and a fingerprint of its search results to compare later.
    func populated() throws -> (QuarryCollection, Dataset, [[Hit]]) {
        let data = try Dataset(in: directory, count: 1000)
        let collection = try QuarryCollection.create(at: directory + "/c", dimension: Dataset.dimension, listCount: 10)
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        return (collection, data, try fingerprint(collection, data))
    }

    func fingerprint(_ collection: QuarryCollection, _ data: Dataset) throws -> [[Hit]] {
        try (0..<5).map {
            try collection.search(collection.prepare(int8: data.query($0)), k: 10, nprobe: 3, oversample: 4)
        }
    }

    @Test func wrongDimensionsChangeNothing() throws {
        let (collection, data, before) = try populated()
        try writeNPY(
            path: directory + "/wide.npy", type: .int8, rows: 2, columns: 97, values: [Int8](repeating: 1, count: 194))
        let error = #expect(throws: QuarryError.self) {
            try collection.ingest(vectors: VectorFile(path: directory + "/wide.npy"))
        }
        #expect(error == .dimensionMismatch(expected: 96, found: 97, source: directory + "/wide.npy"))
        #expect(try fingerprint(collection, data) == before)
        #expect(throws: QuarryError.self) { try collection.prepare(int8: [1, 2, 3]) }
    }

    @Test func nonFiniteValuesChangeNothing() throws {
        let (collection, data, before) = try populated()
        for bad in [Float.nan, .infinity] {
            var values = [Float](repeating: 0.1, count: 5 * 96)
            values[3 * 96 + 5] = bad
            try writeNPY(path: directory + "/bad.npy", type: .float32, rows: 5, columns: 96, values: values)
            let error = #expect(throws: QuarryError.self) {
                try collection.ingest(vectors: VectorFile(path: directory + "/bad.npy"))
            }
            #expect(error == .nonFiniteValue(source: directory + "/bad.npy", row: 3))
        }
        #expect(try collection.vectorCount() == 1000)
        #expect(try fingerprint(collection, data) == before)
        #expect(throws: QuarryError.self) { try collection.prepare(query: [Float](repeating: .nan, count: 96)) }
    }

    @Test func truncatedAndForeignVectorFilesAreRejected() throws {
        let (collection, data, before) = try populated()
        let good = try Data(contentsOf: URL(fileURLWithPath: data.basePath))
        try good.prefix(good.count - 100).write(to: URL(fileURLWithPath: directory + "/cut.npy"))
        #expect(throws: VectorFileError.self) {
            try collection.ingest(vectors: VectorFile(path: directory + "/cut.npy"))
        }
        try Data(repeating: 0x42, count: 4096).write(to: URL(fileURLWithPath: directory + "/junk.npy"))
        #expect(throws: VectorFileError.self) {
            try collection.ingest(vectors: VectorFile(path: directory + "/junk.npy"))
        }
        #expect(try fingerprint(collection, data) == before)
    }

    @Test func badKeysChangeNothing() throws {
        let (collection, data, before) = try populated()
        let file = try VectorFile(path: data.basePath)
        var keys = (0..<1000).map { "k\($0)" }
        keys[10] = String(repeating: "x", count: 512)
        #expect(throws: QuarryError.self) { try collection.ingest(vectors: file, keys: keys) }
        keys[10] = "k11"
        #expect(throws: QuarryError.self) { try collection.ingest(vectors: file, keys: keys) }
        #expect(throws: QuarryError.self) { try collection.ingest(vectors: file, keys: Array(keys.prefix(5))) }
        #expect(try fingerprint(collection, data) == before)
    }

    @Test func badSearchParametersAreRejected() throws {
        let (collection, data, _) = try populated()
        let query = try collection.prepare(int8: data.query(0))
        #expect(throws: QuarryError.self) { try collection.search(query, k: 0) }
        #expect(throws: QuarryError.self) { try collection.search(query, k: -3) }
        #expect(throws: QuarryError.self) { try collection.search(query, k: 10, nprobe: 11) }
        #expect(throws: QuarryError.self) { try collection.search(query, k: 10, nprobe: 0) }
        #expect(throws: QuarryError.self) { try collection.search(query, k: 10, oversample: 0.5) }
        #expect(throws: QuarryError.self) { try collection.exactSearch(query, k: 0) }
    }

    @Test func pathsThatAreNotCollections() throws {
        let missing = #expect(throws: QuarryError.self) { try QuarryCollection.open(at: directory + "/nowhere") }
        #expect(missing == .collectionNotFound(path: directory + "/nowhere"))

        try FileManager.default.createDirectory(atPath: directory + "/photos", withIntermediateDirectories: true)
        try Data("jpeg".utf8).write(to: URL(fileURLWithPath: directory + "/photos/cat.jpg"))
        #expect(throws: QuarryError.self) { try QuarryCollection.open(at: directory + "/photos") }
        #expect(throws: QuarryError.self) { try QuarryCollection.create(at: directory + "/photos", dimension: 8) }

        try FileManager.default.createDirectory(atPath: directory + "/garbage", withIntermediateDirectories: true)
        try Data(repeating: 0xAB, count: 16384).write(to: URL(fileURLWithPath: directory + "/garbage/data.mdb"))
        let garbage = #expect(throws: QuarryError.self) { try QuarryCollection.open(at: directory + "/garbage") }
        #expect(garbage?.description.contains("not a Quarry collection") == true)

        try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/file"))
        #expect(throws: QuarryError.self) { try QuarryCollection.open(at: directory + "/file") }
        #expect(throws: QuarryError.self) { try QuarryCollection.create(at: directory + "/zero", dimension: 0) }
    }

    @Test func aForeignLMDBEnvironmentIsNotACollection() throws {
        // An LMDB environment made by someone else: valid LMDB, no Quarry manifest.
        let collection = try QuarryCollection.create(at: directory + "/real", dimension: 8)
        _ = collection
        let copy = directory + "/foreign"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try ForeignEnvironment.make(at: copy)
        let error = #expect(throws: QuarryError.self) { try QuarryCollection.open(at: copy) }
        #expect(error?.description.contains("no Quarry metadata") == true)
    }
}

import QuarryStore

/// Makes an LMDB environment with someone else's data in it.
enum ForeignEnvironment {
    static func make(at path: String) throws {
        let environment = try LMDBEnvironment(directory: path, options: .init(create: true))
        let database = try environment.openDatabase("sessions", create: true)
        _ = try environment.write { try $0.put(database, key: Array("user".utf8), value: Array("42".utf8)) }
    }
}
