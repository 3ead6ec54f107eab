import Foundation
import QuarryStore

/// Runs `body` with a fresh directory path (not yet created) and removes it afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) rethrows -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("quarry-store-tests-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// `withTemporaryDirectory` for an asynchronous body.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async rethrows -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("quarry-store-tests-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Opens (creating) an environment in `directory` with a small map unless told otherwise.
func makeEnvironment(
    _ directory: String, initialMapSize: Int = 4 << 20, maxMapSize: Int = 1 << 30
) throws -> LMDBEnvironment {
    try LMDBEnvironment(
        directory: directory,
        options: .init(create: true, initialMapSize: initialMapSize, maxMapSize: maxMapSize))
}

/// The bytes of a string, for readable test keys.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The value under `key` copied out of the map, or nil.
func value(_ environment: LMDBEnvironment, _ database: LMDBDatabase, _ key: [UInt8]) throws -> [UInt8]? {
    try environment.read { transaction in try transaction.get(database, key: key).map { Array($0) } }
}

/// Whether two byte arrays are equal (memcmp: element-wise `==` is slow on megabytes in debug builds).
func sameBytes(_ first: [UInt8], _ second: [UInt8]) -> Bool {
    first.count == second.count
        && first.withUnsafeBytes { a in
            second.withUnsafeBytes { b in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
}

/// Deterministic pseudo-random bytes (xorshift), cheap even in debug builds.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var result = [UInt8](repeating: 0, count: count)
    result.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { word in
                for byte in word where offset < count {
                    buffer[offset] = byte
                    offset += 1
                }
            }
        }
    }
    return result
}
