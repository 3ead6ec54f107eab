import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which committed state a read-only transaction sees, and where the map was: two read
/// transactions of one environment with equal snapshots see the same bytes at the same
/// addresses (no write committed and the map was not moved between them), so addresses found
/// in one stay valid in the other.
public struct LMDBSnapshot: Sendable, Equatable {
    /// The id of the last committed write transaction (`mdb_txn_id`).
    public let transactionID: Int
    /// How many times this environment object has remapped the file.
    public let mapGeneration: Int
}

/// A read-only snapshot of an environment, handed to `LMDBEnvironment.read`'s closure.
///
/// Valid only inside that closure; so is every buffer it returns, which points straight into the
/// memory map (no copy). Copy bytes out (`Array(buffer)`) to keep them. Not for concurrent use
/// from several threads.
public class LMDBReadTransaction {
    /// The `MDB_txn`, nil once the closure has returned.
    private(set) var handle: OpaquePointer?
    let maxKeySize: Int
    let directory: String
    /// What a read-only transaction sees; nil in a write transaction, whose pages change.
    public let snapshot: LMDBSnapshot?

    init(handle: OpaquePointer, maxKeySize: Int, directory: String, snapshot: LMDBSnapshot? = nil) {
        self.handle = handle
        self.maxKeySize = maxKeySize
        self.directory = directory
        self.snapshot = snapshot
    }

    /// Marks the transaction finished; later calls throw `StoreError.transactionFinished`.
    func finish() { handle = nil }

    /// The id of the committed state a read transaction sees, or, in a write transaction, the
    /// id its commit will have (`mdb_txn_id`). Ids only grow; 0 once the transaction finished.
    public var transactionID: Int { handle.map { Int(mdb_txn_id($0)) } ?? 0 }

    /// The value stored under `key`, or nil. The buffer is valid until the closure returns (in a
    /// write transaction: until the next change to the database).
    public func get(_ database: LMDBDatabase, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        let transaction = try live("get")
        try validate(key, for: database, "get")
        var keyValue = MDB_val(key)
        var value = MDB_val()
        let code = mdb_get(transaction, database.handle, &keyValue, &value)
        if code == MDB_NOTFOUND { return nil }
        try check(code, "get from '\(database.name)'")
        return UnsafeRawBufferPointer(value)
    }

    /// The value stored under `key`, or nil. See `get(_:key:)` for the buffer's lifetime.
    public func get(_ database: LMDBDatabase, key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try key.withUnsafeBytes { try get(database, key: $0) }
    }

    /// Walks `database` in key order, starting at the first key `>= startKey` (or the first key),
    /// calling `body(key, value)` until it returns false. Both buffers are valid only during the call.
    public func forEach(
        _ database: LMDBDatabase, from startKey: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try walk(database, from: startKey ?? [], operation: "forEach over '\(database.name)'") { key, value in
            try body(key, value)
        }
    }

    /// Walks, in key order, the keys of `database` that start with `prefix` (all keys for an empty
    /// prefix), calling `body(key, value)` until it returns false.
    public func forEach(
        _ database: LMDBDatabase, prefix: [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try walk(database, from: prefix, operation: "forEach prefix over '\(database.name)'") { key, value in
            guard key.starts(with: prefix) else { return false }
            return try body(key, value)
        }
    }

    /// The last key (copied) and its value, or nil when `database` is empty.
    public func last(_ database: LMDBDatabase) throws -> (key: [UInt8], value: UnsafeRawBufferPointer)? {
        try withCursor(database, "last of '\(database.name)'") { cursor in
            var key = MDB_val()
            var value = MDB_val()
            let code = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
            if code == MDB_NOTFOUND { return nil }
            try check(code, "last of '\(database.name)'")
            return (Array(UnsafeRawBufferPointer(key)), UnsafeRawBufferPointer(value))
        }
    }

    /// The last key (copied) that starts with `prefix` and its value, or nil when none does: one
    /// cursor seek past the prefix's keys and a step back, however many keys share it.
    public func last(
        _ database: LMDBDatabase, prefix: [UInt8]
    ) throws -> (key: [UInt8], value: UnsafeRawBufferPointer)? {
        func operation() -> String { "last with a prefix in '\(database.name)'" }
        try prefix.withUnsafeBytes { try validate($0, for: database, operation()) }
        // The smallest key above every key that starts with the prefix; nil when all its bytes are 0xFF.
        var successor = prefix
        while let last = successor.last, last == 0xFF { successor.removeLast() }
        if !successor.isEmpty { successor[successor.count - 1] += 1 }
        return try withCursor(database, operation()) { cursor in
            var key = MDB_val()
            var value = MDB_val()
            var code: Int32
            if successor.isEmpty {
                code = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
            } else {
                code = successor.withUnsafeBytes { start in
                    key = MDB_val(start)
                    return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
                }
                code =
                    code == MDB_NOTFOUND
                    ? mdb_cursor_get(cursor, &key, &value, MDB_LAST)
                    : code == 0 ? mdb_cursor_get(cursor, &key, &value, MDB_PREV) : code
            }
            if code == MDB_NOTFOUND { return nil }
            try check(code, operation())
            let found = UnsafeRawBufferPointer(key)
            guard found.starts(with: prefix) else { return nil }
            return (Array(found), UnsafeRawBufferPointer(value))
        }
    }

    /// The number of entries in `database` as this transaction sees it.
    public func entryCount(_ database: LMDBDatabase) throws -> Int {
        let transaction = try live("entryCount")
        var status = MDB_stat()
        try check(mdb_stat(transaction, database.handle, &status), "stat '\(database.name)'")
        return status.ms_entries
    }

    private func walk(
        _ database: LMDBDatabase, from startKey: [UInt8], operation: @autoclosure () -> String,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        if !startKey.isEmpty { try startKey.withUnsafeBytes { try validate($0, for: database, operation()) } }
        try withCursor(database, operation()) { cursor in
            var key = MDB_val()
            var value = MDB_val()
            var code: Int32
            if startKey.isEmpty {
                code = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
            } else {
                code = startKey.withUnsafeBytes { start in
                    key = MDB_val(start)
                    return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
                }
            }
            while code == 0 {
                guard try body(UnsafeRawBufferPointer(key), UnsafeRawBufferPointer(value)) else { return }
                code = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
            }
            if code != MDB_NOTFOUND { try check(code, operation()) }
        }
    }

    private func withCursor<T>(
        _ database: LMDBDatabase, _ operation: @autoclosure () -> String, _ body: (OpaquePointer) throws -> T
    ) throws -> T {
        let transaction = try live(operation())
        var opened: OpaquePointer?
        try check(mdb_cursor_open(transaction, database.handle, &opened), operation())
        guard let cursor = opened else { throw StoreError.lmdb(code: EINVAL, operation: operation(), path: directory) }
        defer { mdb_cursor_close(cursor) }
        return try body(cursor)
    }

    /// The live `MDB_txn`, or `transactionFinished` when the closure has returned.
    func live(_ operation: @autoclosure () -> String) throws -> OpaquePointer {
        guard let handle else { throw StoreError.transactionFinished(operation: operation()) }
        return handle
    }

    /// Rejects keys LMDB would refuse, before LMDB sees them.
    func validate(
        _ key: UnsafeRawBufferPointer, for database: LMDBDatabase, _ operation: @autoclosure () -> String
    ) throws {
        if key.isEmpty { throw StoreError.invalidKey(reason: "keys must not be empty", operation: operation()) }
        if key.count > maxKeySize { throw StoreError.keyTooLarge(size: key.count, max: maxKeySize) }
        if database.integerKeys && key.count != 4 && key.count != 8 {
            throw StoreError.invalidKey(
                reason: "integer-key database '\(database.name)' needs 4- or 8-byte keys, got \(key.count) bytes",
                operation: operation())
        }
    }

    func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
        guard code == 0 else { throw StoreError.lmdb(code: code, operation: operation(), path: directory) }
    }
}

/// A write transaction, handed to `LMDBEnvironment.write`'s closure. It sees its own changes.
/// Everything said of `LMDBReadTransaction` applies; in addition a buffer returned by `get` is
/// valid only until the next change in this transaction.
public final class LMDBWriteTransaction: LMDBReadTransaction {
    /// Set when LMDB ran out of map; `write` then grows the map and re-runs its body.
    private(set) var hitMapFull = false

    /// Stores `value` under `key`. With `noOverwrite`, returns false (and changes nothing) when
    /// the key exists. With `append`, the key must sort after every key in the database (a fast
    /// path for bulk loads in key order); otherwise this throws. Returns true when stored.
    @discardableResult
    public func put(
        _ database: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
        noOverwrite: Bool = false, append: Bool = false
    ) throws -> Bool {
        func operation() -> String { append ? "put (append) into '\(database.name)'" : "put into '\(database.name)'" }
        let transaction = try live(operation())
        try validate(key, for: database, operation())
        var keyValue = MDB_val(key)
        var valueValue = MDB_val(value)
        let flags = (noOverwrite ? UInt32(MDB_NOOVERWRITE) : 0) | (append ? UInt32(MDB_APPEND) : 0)
        let code = mdb_put(transaction, database.handle, &keyValue, &valueValue, flags)
        if code == MDB_KEYEXIST && noOverwrite {
            // With append too, KEYEXIST also means "out of order": tell the two apart.
            let exists = append ? try get(database, key: key) != nil : true
            if exists { return false }
        }
        try checkWrite(code, operation())
        return true
    }

    /// Stores `value` under `key`; see `put(_:key:value:noOverwrite:append:)`.
    @discardableResult
    public func put(
        _ database: LMDBDatabase, key: [UInt8], value: UnsafeRawBufferPointer,
        noOverwrite: Bool = false, append: Bool = false
    ) throws -> Bool {
        try key.withUnsafeBytes { try put(database, key: $0, value: value, noOverwrite: noOverwrite, append: append) }
    }

    /// Stores `value` under `key`; see `put(_:key:value:noOverwrite:append:)`.
    @discardableResult
    public func put(
        _ database: LMDBDatabase, key: [UInt8], value: [UInt8], noOverwrite: Bool = false, append: Bool = false
    ) throws -> Bool {
        try value.withUnsafeBytes { try put(database, key: key, value: $0, noOverwrite: noOverwrite, append: append) }
    }

    /// Stores `value` under `key`; see `put(_:key:value:noOverwrite:append:)`.
    @discardableResult
    public func put(
        _ database: LMDBDatabase, key: UnsafeRawBufferPointer, value: [UInt8],
        noOverwrite: Bool = false, append: Bool = false
    ) throws -> Bool {
        try value.withUnsafeBytes { try put(database, key: key, value: $0, noOverwrite: noOverwrite, append: append) }
    }

    /// Makes room for a `count`-byte value under `key` (`MDB_RESERVE`) and returns it for the
    /// caller to fill in place, before the next change in this transaction.
    public func reserve(_ database: LMDBDatabase, key: [UInt8], count: Int) throws -> UnsafeMutableRawBufferPointer {
        func operation() -> String { "reserve in '\(database.name)'" }
        let transaction = try live(operation())
        return try key.withUnsafeBytes { key in
            try validate(key, for: database, operation())
            var keyValue = MDB_val(key)
            var value = MDB_val(mv_size: count, mv_data: nil)
            try checkWrite(mdb_put(transaction, database.handle, &keyValue, &value, UInt32(MDB_RESERVE)), operation())
            return UnsafeMutableRawBufferPointer(start: value.mv_data, count: value.mv_size)
        }
    }

    /// Deletes `key`; returns false when it was absent.
    @discardableResult
    public func delete(_ database: LMDBDatabase, key: [UInt8]) throws -> Bool {
        func operation() -> String { "delete from '\(database.name)'" }
        let transaction = try live(operation())
        return try key.withUnsafeBytes { key in
            try validate(key, for: database, operation())
            var keyValue = MDB_val(key)
            let code = mdb_del(transaction, database.handle, &keyValue, nil)
            if code == MDB_NOTFOUND { return false }
            try checkWrite(code, operation())
            return true
        }
    }

    /// Deletes every entry of `database`, keeping the database itself.
    public func clear(_ database: LMDBDatabase) throws {
        func operation() -> String { "clear '\(database.name)'" }
        try checkWrite(mdb_drop(try live(operation()), database.handle, 0), operation())
    }

    private func checkWrite(_ code: Int32, _ operation: @autoclosure () -> String) throws {
        if code == MDB_MAP_FULL { hitMapFull = true }
        try check(code, operation())
    }
}

extension MDB_val {
    /// A view of `buffer` for LMDB (which does not write through key or value pointers).
    init(_ buffer: UnsafeRawBufferPointer) {
        self.init(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }
}

extension UnsafeRawBufferPointer {
    init(_ value: MDB_val) {
        self.init(start: value.mv_data, count: value.mv_size)
    }
}
