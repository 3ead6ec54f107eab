import CLMDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An error from the storage layer. `description` names what failed, where, LMDB's own words when
/// LMDB reported it, and what to do about it.
public enum StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// An LMDB (or system) call failed; `code` is what `mdb_strerror` explains.
    case lmdb(code: Int32, operation: String, path: String)
    /// The directory's `data.mdb` (or `lock.mdb`) is not a usable LMDB file: garbage, truncated,
    /// written by an incompatible LMDB version, or not a directory at all.
    case notAnLMDBEnvironment(path: String, reason: String)
    /// No environment exists at `path` and `Options.create` was false.
    case environmentNotFound(path: String)
    /// This process already has the environment at `path` open. LMDB forbids opening one
    /// environment twice in a process (closing either copy would drop the other's locks).
    case alreadyOpen(path: String)
    /// `openDatabase(_:create: false)` named a database that does not exist.
    case databaseNotFound(name: String, path: String)
    /// A key is longer than LMDB's limit (`mdb_env_get_maxkeysize`, 511 bytes by default).
    case keyTooLarge(size: Int, max: Int)
    /// A key is empty, or has the wrong width for an integer-key database (4 or 8 bytes).
    case invalidKey(reason: String, operation: String)
    /// The map is full and may not grow past `Options.maxMapSize` (`limit`).
    case mapFull(limit: Int, path: String)
    /// A map resize failed and left LMDB without a map; the environment must be reopened.
    case environmentUnusable(path: String, reason: String)
    /// Another process holds the collection in a way that excludes this use.
    case locked(path: String, reason: String)
    /// A transaction was started where it would deadlock: `write` inside another transaction of
    /// the same environment on the same thread, or `openDatabase` of a new name inside one.
    case nestedTransaction(operation: String)
    /// A transaction object was used after its `read`/`write` closure returned.
    case transactionFinished(operation: String)
    /// Stored bytes do not decode: a damaged or foreign zstd frame, a malformed record.
    case corruptData(String)
    /// A zstd frame would decompress to `size` bytes, more than the caller's `maxSize`.
    case decompressedSizeTooLarge(size: Int, max: Int)
    /// zstd failed to compress.
    case compression(String)

    public var description: String {
        switch self {
        case let .lmdb(code, operation, path):
            let hint = Self.hint(forLMDBCode: code, operation: operation)
            return "\(operation) failed for LMDB environment \(path): \(Self.lmdbMessage(code)) (code \(code))"
                + (hint.isEmpty ? "" : ". \(hint)")
        case let .notAnLMDBEnvironment(path, reason):
            return "\(path) is not an LMDB environment: \(reason). Point Quarry at a collection directory, "
                + "or restore data.mdb from a copy."
        case let .environmentNotFound(path):
            return "No LMDB environment at \(path) (no directory or no data.mdb). Pass create: true to make one."
        case let .alreadyOpen(path):
            return "The LMDB environment at \(path) is already open in this process. Share the open "
                + "LMDBEnvironment instead of opening it again."
        case let .databaseNotFound(name, path):
            return "The LMDB environment at \(path) has no database named '\(name)'. Open it with create: true "
                + "to make it."
        case let .keyTooLarge(size, max):
            return "Key of \(size) bytes is longer than LMDB's limit of \(max) bytes. Hash or shorten long keys."
        case let .invalidKey(reason, operation):
            return "\(operation): invalid key: \(reason)."
        case let .mapFull(limit, path):
            return "The LMDB environment at \(path) is full: the map reached Options.maxMapSize (\(limit) bytes). "
                + "Raise maxMapSize, or compact the collection. Earlier commits are intact."
        case let .environmentUnusable(path, reason):
            return "The LMDB environment at \(path) was closed for use after a failed map resize (\(reason)). "
                + "Reopen it; earlier commits are intact."
        case let .locked(path, reason):
            return "\(path) is in use: \(reason)."
        case let .nestedTransaction(operation):
            return "\(operation) was called inside another transaction of the same environment on the same "
                + "thread, which would deadlock. Finish the outer transaction first."
        case let .transactionFinished(operation):
            return "\(operation) used a transaction after its read/write closure returned. Transactions and "
                + "the buffers they return are valid only inside the closure."
        case let .corruptData(what):
            return "Corrupt data: \(what)."
        case let .decompressedSizeTooLarge(size, max):
            return "A zstd frame would decompress to \(size) bytes, more than the allowed \(max) bytes. "
                + "Raise maxSize if the record is genuine."
        case let .compression(message):
            return "zstd compression failed: \(message)."
        }
    }

    /// LMDB's text for `code` (system errors included).
    static func lmdbMessage(_ code: Int32) -> String {
        guard let text = mdb_strerror(code) else { return "unknown error" }
        return String(cString: text)
    }

    private static func hint(forLMDBCode code: Int32, operation: String) -> String {
        switch code {
        case MDB_MAP_FULL:
            return "The map is full; LMDBEnvironment.write grows it and re-runs the write body"
        case MDB_READERS_FULL:
            return "Too many concurrent read transactions: raise Options.maxReaders or finish reads sooner"
        case MDB_DBS_FULL:
            return "Too many named databases: raise Options.maxDatabases"
        case MDB_TXN_FULL:
            return "Too many changes in one transaction: split the batch"
        case MDB_KEYEXIST where operation.contains("append"):
            return "append requires each key to sort after the database's last key"
        case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_PANIC:
            return "The file is damaged; restore the collection from a copy"
        case MDB_BAD_TXN:
            return "An earlier error spoiled this transaction; it has been abandoned"
        case MDB_MAP_RESIZED:
            return "Another process grew the map while this thread held a transaction; retry"
        case MDB_INCOMPATIBLE:
            return "The database exists with different flags (integer keys or not)"
        case ENOSPC:
            return "The disk is full; free space and retry. The last committed state is intact"
        case EIO:
            return "The disk failed or filled up mid-write (LMDB reports a short write as an I/O error); "
                + "free space and check the device. The last committed state is intact"
        case EFBIG:
            return "The file hit a size limit (ulimit -f or the file system's); the last committed state is intact"
        case EACCES, EROFS, EPERM:
            return "The environment is read-only here (Options.readOnly or file permissions)"
        case EEXIST:
            return "The destination already holds a data.mdb; choose an empty directory"
        case ENOENT:
            return "The directory does not exist"
        default:
            return ""
        }
    }
}
