import Foundation
import QuarrySchema
import QuarryStore
import Testing

@Suite struct ForeignFileTests {
    /// Opening `directory` must fail with `notAnLMDBEnvironment`.
    private func expectNotAnEnvironment(_ directory: String, readOnly: Bool = false) {
        let error = #expect(throws: StoreError.self) {
            try LMDBEnvironment(directory: directory, options: .init(readOnly: readOnly))
        }
        guard case .notAnLMDBEnvironment(let path, _) = error else {
            Issue.record("expected notAnLMDBEnvironment, got \(String(describing: error))")
            return
        }
        #expect(path == directory)
    }

    private func writeDataFile(_ directory: String, _ contents: [UInt8]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(contents).write(to: URL(fileURLWithPath: directory + "/data.mdb"))
    }

    @Test func randomBytesAreNotAnEnvironment() throws {
        try withTemporaryDirectory { directory in
            try writeDataFile(directory, pseudoRandomBytes(count: 64 << 10, seed: 99))
            expectNotAnEnvironment(directory)
            expectNotAnEnvironment(directory, readOnly: true)
        }
    }

    @Test func textFileIsNotAnEnvironment() throws {
        try withTemporaryDirectory { directory in
            try writeDataFile(directory, bytes(String(repeating: "just some notes, not a database\n", count: 500)))
            expectNotAnEnvironment(directory)
        }
    }

    @Test func emptyAndTinyFilesAreNotAnEnvironment() throws {
        try withTemporaryDirectory { directory in
            try writeDataFile(directory, [])
            expectNotAnEnvironment(directory)
            try writeDataFile(directory, bytes("tiny"))
            expectNotAnEnvironment(directory)
        }
    }

    @Test func truncatedEnvironmentIsRefused() throws {
        try withTemporaryDirectory { directory in
            do {
                let environment = try makeEnvironment(directory)
                let items = try environment.openDatabase("items", create: true)
                try environment.write { transaction in
                    for index: UInt32 in 0..<500 {
                        try transaction.put(items, key: BigEndian.u32(index), value: [UInt8](repeating: 3, count: 1000))
                    }
                }
            }
            let dataPath = directory + "/data.mdb"
            let size = try #require(try FileManager.default.attributesOfItem(atPath: dataPath)[.size] as? Int)
            #expect(truncate(dataPath, off_t(size / 2)) == 0)
            expectNotAnEnvironment(directory)
            #expect(truncate(dataPath, 100) == 0)
            expectNotAnEnvironment(directory, readOnly: true)
        }
    }

    @Test func missingEnvironmentNeedsCreate() throws {
        try withTemporaryDirectory { directory in
            #expect(throws: StoreError.environmentNotFound(path: directory)) {
                try LMDBEnvironment(directory: directory, options: .init())
            }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            #expect(throws: StoreError.environmentNotFound(path: directory)) {
                try LMDBEnvironment(directory: directory, options: .init(readOnly: true))
            }
            let file = directory + "/plain-file"
            #expect(FileManager.default.createFile(atPath: file, contents: Data([1, 2, 3])))
            expectNotAnEnvironment(file)
            let nested = directory + "/a/b/c"
            _ = try makeEnvironment(nested)
            #expect(FileManager.default.fileExists(atPath: nested + "/data.mdb"))
        }
    }

    @Test func errorsReadWell() {
        let message = StoreError.lmdb(code: ENOSPC, operation: "commit", path: "/data/web").description
        #expect(message.contains("commit"))
        #expect(message.contains("/data/web"))
        #expect(message.contains("No space left on device"))
        #expect(message.contains("disk is full"))
        #expect(StoreError.mapFull(limit: 1024, path: "/c").description.contains("maxMapSize"))
    }
}
