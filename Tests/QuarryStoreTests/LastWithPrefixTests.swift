import QuarryStore
import Testing

@Suite struct LastWithPrefixTests {
    /// The last key with a prefix, for prefixes in the middle, at the end and at the start of the
    /// key order, one that is all 0xFF bytes (no successor), one no key has, and an empty database.
    @Test func lastKeyWithAPrefixIsFoundWhereverThePrefixSits() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let database = try environment.openDatabase("keys", create: true)
            let empty = try environment.openDatabase("empty", create: true)
            let keys: [[UInt8]] = [
                [0x00, 0x01], [0x00, 0x02], [0x01, 0x00], [0x01, 0x07], [0x01, 0xFF], [0x02, 0x00],
                [0xFF, 0x00], [0xFF, 0xFF], [0xFF, 0xFF, 0x01],
            ]
            try environment.write { txn in
                for (index, key) in keys.enumerated() { try txn.put(database, key: key, value: [UInt8(index)]) }
            }
            try environment.read { txn throws in
                func last(_ prefix: [UInt8]) throws -> (key: [UInt8], value: [UInt8])? {
                    try txn.last(database, prefix: prefix).map { ($0.key, Array($0.value)) }
                }
                #expect(try last([0x00])?.key == [0x00, 0x02])
                #expect(try last([0x01])?.key == [0x01, 0xFF])
                #expect(try last([0x01])?.value == [4])
                #expect(try last([0x02])?.key == [0x02, 0x00])
                #expect(try last([0xFF])?.key == [0xFF, 0xFF, 0x01])
                #expect(try last([0xFF, 0xFF])?.key == [0xFF, 0xFF, 0x01])
                #expect(try last([0x01, 0x07])?.key == [0x01, 0x07])
                #expect(try last([0x03]) == nil)
                #expect(try last([0x00, 0x03]) == nil)
                #expect(try txn.last(empty, prefix: [0x00]) == nil)
                #expect(throws: StoreError.self) { _ = try txn.last(database, prefix: []) }
            }
        }
    }
}
