import CLMDB
import QuarryBase

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A named LMDB database (an `MDB_dbi`) inside one `LMDBEnvironment`.
public struct LMDBDatabase: Sendable, Hashable {
    let handle: MDB_dbi
    /// The name it was opened by.
    public let name: String
    /// Whether keys are native-endian 4- or 8-byte unsigned integers (`MDB_INTEGERKEY`).
    public let integerKeys: Bool
}

/// An open LMDB environment: the directory holding `data.mdb` and `lock.mdb`.
///
/// Thread-safe. Any number of `read`s run concurrently with each other and with one `write`;
/// `write`s from several threads run one at a time. The map grows on demand (see `write`).
/// Open a directory at most once per process (a second open throws `StoreError.alreadyOpen`).
/// The environment closes when the last reference goes away.
public final class LMDBEnvironment: @unchecked Sendable {
    /// How to open an environment.
    public struct Options: Sendable {
        /// Create the directory and an empty environment when absent.
        public var create: Bool
        /// Open for reading only; `write` fails.
        public var readOnly: Bool
        /// Map size to start with, in bytes (rounded up to the page size). An existing environment
        /// whose data is larger opens with a map that fits its data.
        public var initialMapSize: Int
        /// The map doubles on demand up to this many bytes, then `write` throws `StoreError.mapFull`.
        /// Values below `initialMapSize` count as `initialMapSize`.
        public var maxMapSize: Int
        /// The most named databases (`openDatabase` names) the environment can hold.
        public var maxDatabases: Int
        /// The most read transactions open at once, across all processes using the environment.
        public var maxReaders: Int

        public init(
            create: Bool = false, readOnly: Bool = false, initialMapSize: Int = 1 << 30,
            maxMapSize: Int = 1 << 40, maxDatabases: Int = 16, maxReaders: Int = 256
        ) {
            self.create = create
            self.readOnly = readOnly
            self.initialMapSize = initialMapSize
            self.maxMapSize = maxMapSize
            self.maxDatabases = maxDatabases
            self.maxReaders = maxReaders
        }
    }

    /// The directory the environment lives in.
    public let directory: String
    public let options: Options
    /// The longest key LMDB accepts, in bytes.
    public let maxKeySize: Int

    private let environment: OpaquePointer
    private let identity: OpenEnvironmentRegistry.DirectoryIdentity
    private let maxMapSize: Int
    /// A thread holding any transaction holds this shared (once, however many it holds);
    /// changing the map size holds it exclusive, because `mdb_env_set_mapsize` needs a process
    /// with no live transactions.
    private let mapLock = MapLock()
    /// Serializes writers in this process before they touch `mapLock`, so a waiting
    /// writer never holds the shared side that a growing writer needs to be released.
    private let writerMutex = PlainMutex()
    /// Serializes `mdb_dbi_open`, which LMDB allows in only one transaction at a time.
    private let databaseOpenMutex = PlainMutex()
    private let databaseCacheMutex = PlainMutex()
    private var databases: [String: LMDBDatabase] = [:]
    /// How many transactions (or other users of the map) of this environment the calling thread
    /// holds: it holds `mapLock` shared while this is above zero.
    private let heldTransactions = ThreadLocalCounter()
    /// Counts `mdb_env_set_mapsize` calls after opening (each may move the map); written with
    /// `mapLock` held exclusive, read with it held shared.
    private var mapGeneration = 0
    /// Why the environment can no longer be used (a remap failed and left no map); set with
    /// `mapLock` held exclusive, read with it held shared.
    private var unusableReason: String?
    /// Write transactions begun since stale reader slots were last cleared.
    private var writesSinceReaderCheck = 0
    /// Stale reader slots are cleared every this many write transactions (and at open).
    public static let readerCheckInterval = 64

    /// Opens (or with `options.create`, creates) the environment in `directory`.
    ///
    /// Throws `StoreError.environmentNotFound` when there is none and `create` is false, and
    /// `StoreError.notAnLMDBEnvironment` when `data.mdb` is not a usable LMDB file.
    public init(directory: String, options: Options = Options()) throws {
        let opened = try Self.open(directory: directory, options: options)
        self.directory = directory
        self.options = options
        self.environment = opened.environment
        self.identity = opened.identity
        self.maxMapSize = max(options.maxMapSize, opened.mapSize)
        self.maxKeySize = Int(mdb_env_get_maxkeysize(opened.environment))
        if !options.readOnly { _ = try clearStaleReaders() }
    }

    deinit {
        mdb_env_close(environment)
        OpenEnvironmentRegistry.shared.release(identity)
    }

    // MARK: Databases

    /// Opens the named database, creating it when `create` is true (not in a read-only
    /// environment). Throws `StoreError.databaseNotFound` when it does not exist and `create` is
    /// false. Handles are cached: opening a name again is cheap. Call this outside transactions,
    /// or inside one only for names already opened.
    public func openDatabase(_ name: String, create: Bool = false, integerKeys: Bool = false) throws -> LMDBDatabase {
        if let cached = databaseCacheMutex.withLock({ databases[name] }) {
            guard cached.integerKeys == integerKeys else {
                throw StoreError.lmdb(code: MDB_INCOMPATIBLE, operation: "open database '\(name)'", path: directory)
            }
            return cached
        }
        guard heldTransactions.value == 0 else {
            throw StoreError.nestedTransaction(operation: "openDatabase('\(name)') of a database not opened before")
        }
        return try databaseOpenMutex.withLock {
            if let cached = databaseCacheMutex.withLock({ databases[name] }) { return cached }
            let flags = UInt32(integerKeys ? MDB_INTEGERKEY : 0)
            let handle: MDB_dbi
            if create && !options.readOnly {
                handle = try write { transaction in
                    try Self.openHandle(transaction.handle, name, flags: flags | UInt32(MDB_CREATE), directory)
                }
            } else {
                let transaction = try beginTransaction(flags: UInt32(MDB_RDONLY), operation: "open database '\(name)'")
                defer { endTransaction() }
                do {
                    handle = try Self.openHandle(transaction, name, flags: flags, directory)
                } catch {
                    mdb_txn_abort(transaction)
                    throw error
                }
                // Committing (not aborting) keeps the handle for the environment's other transactions.
                try check(mdb_txn_commit(transaction), "open database '\(name)'")
            }
            let database = LMDBDatabase(handle: handle, name: name, integerKeys: integerKeys)
            databaseCacheMutex.withLock { databases[name] = database }
            return database
        }
    }

    private static func openHandle(
        _ transaction: OpaquePointer?, _ name: String, flags: UInt32, _ directory: String
    ) throws -> MDB_dbi {
        guard let transaction else { throw StoreError.transactionFinished(operation: "open database '\(name)'") }
        var handle = MDB_dbi()
        let code = mdb_dbi_open(transaction, name, flags, &handle)
        if code == MDB_NOTFOUND { throw StoreError.databaseNotFound(name: name, path: directory) }
        guard code == 0 else {
            throw StoreError.lmdb(code: code, operation: "open database '\(name)'", path: directory)
        }
        return handle
    }

    // MARK: Transactions

    /// Runs `body` in a read-only snapshot of the environment. The transaction, and every buffer
    /// it returns, is valid only until `body` returns. Reads may nest and may run inside a
    /// `write` body (they see the last commit, not the write's changes).
    @discardableResult
    public func read<T>(_ body: (LMDBReadTransaction) throws -> T) throws -> T {
        let handle = try beginTransaction(flags: UInt32(MDB_RDONLY), operation: "begin read transaction")
        let transaction = LMDBReadTransaction(
            handle: handle, maxKeySize: maxKeySize, directory: directory,
            snapshot: LMDBSnapshot(transactionID: mdb_txn_id(handle), mapGeneration: mapGeneration))
        defer {
            transaction.finish()
            mdb_txn_abort(handle)
            endTransaction()
        }
        return try body(transaction)
    }

    /// Runs `body` in a write transaction and commits it. Writes from several threads run one at
    /// a time.
    ///
    /// If `body` throws, nothing it wrote persists and the error is rethrown. When the map fills
    /// (during `body` or the commit), the transaction is abandoned, the map doubles (up to
    /// `Options.maxMapSize`, past which this throws `StoreError.mapFull`), and **`body` runs again
    /// from the start** — so `body` must be safe to re-run: compute inputs outside it, and don't
    /// let it change outside state that a second run would change again. Do not call `write`
    /// inside another transaction of this environment on the same thread
    /// (`StoreError.nestedTransaction`).
    @discardableResult
    public func write<T>(_ body: (LMDBWriteTransaction) throws -> T) throws -> T {
        guard heldTransactions.value == 0 else { throw StoreError.nestedTransaction(operation: "write") }
        return try writerMutex.withLock {
            writesSinceReaderCheck += 1
            if writesSinceReaderCheck >= Self.readerCheckInterval {
                writesSinceReaderCheck = 0
                _ = try clearStaleReaders()
            }
            while true {
                let handle = try beginTransaction(flags: 0, operation: "begin write transaction")
                let transaction = LMDBWriteTransaction(handle: handle, maxKeySize: maxKeySize, directory: directory)
                let outcome = Result { try body(transaction) }
                transaction.finish()
                if transaction.hitMapFull {
                    mdb_txn_abort(handle)
                    endTransaction()
                    try growMap()
                    continue
                }
                let value: T
                do {
                    value = try outcome.get()
                } catch {
                    mdb_txn_abort(handle)
                    endTransaction()
                    throw error
                }
                let code = mdb_txn_commit(handle)  // frees the transaction whether or not it succeeds
                endTransaction()
                if code == MDB_MAP_FULL {
                    try growMap()
                    continue
                }
                try check(code, "commit")
                return value
            }
        }
    }

    /// Begins a transaction holding `mapLock` shared; pair with `endTransaction`.
    private func beginTransaction(flags: UInt32, operation: @autoclosure () -> String) throws -> OpaquePointer {
        while true {
            enterMap()
            do { try checkUsable() } catch {
                leaveMap()
                throw error
            }
            var handle: OpaquePointer?
            let code = mdb_txn_begin(environment, nil, flags, &handle)
            if code == 0, let handle { return handle }
            leaveMap()
            // Another process grew the map: adopt its size, unless this thread holds a
            // transaction (which would make the exclusive lock wait for ourselves).
            if code == MDB_MAP_RESIZED && heldTransactions.value == 0 {
                try resizeMap(to: 0, operation: "adopt map size grown by another process")
                continue
            }
            throw StoreError.lmdb(code: code, operation: operation(), path: directory)
        }
    }

    private func endTransaction() { leaveMap() }

    /// Marks the calling thread as using the map, taking `mapLock` shared if it was not yet.
    private func enterMap() {
        if heldTransactions.value == 0 { mapLock.lockShared() }
        heldTransactions.add(1)
    }

    private func leaveMap() {
        heldTransactions.add(-1)
        if heldTransactions.value == 0 { mapLock.unlockShared() }
    }

    /// Doubles the map, up to `maxMapSize`.
    private func growMap() throws {
        let current = mapSize
        guard current < maxMapSize else { throw StoreError.mapFull(limit: maxMapSize, path: directory) }
        try resizeMap(
            to: min(current.multipliedReportingOverflow(by: 2).partialValue, maxMapSize), operation: "grow map")
    }

    /// `mdb_env_set_mapsize` with no transaction of this process live (0 adopts the size on disk).
    ///
    /// LMDB unmaps the file before mapping it at the new size; when the new mapping fails
    /// (address space or memory exhausted) it is left with no map at all, which it cannot
    /// restore, and anything that then read the map would fault. So a failure closes the
    /// environment for use: every later transaction throws `StoreError.environmentUnusable`
    /// (reopen the environment to go on). Committed data is untouched.
    private func resizeMap(to size: Int, operation: String) throws {
        mapLock.lockExclusive()
        defer { mapLock.unlockExclusive() }
        if let unusableReason { throw StoreError.environmentUnusable(path: directory, reason: unusableReason) }
        mapGeneration += 1
        let code = mdb_env_set_mapsize(environment, size)
        guard code != 0 else { return }
        let failure = StoreError.lmdb(code: code, operation: operation, path: directory)
        unusableReason = "\(failure)"
        throw failure
    }

    /// Throws when a failed remap left the environment without a map; call holding `mapLock`.
    private func checkUsable() throws {
        if let unusableReason { throw StoreError.environmentUnusable(path: directory, reason: unusableReason) }
    }

    /// The map size LMDB records; call holding `mapLock`, on a usable environment.
    private func currentMapSize() -> Int {
        var info = MDB_envinfo()
        mdb_env_info(environment, &info)
        return info.me_mapsize
    }

    /// Clears the reader slots of processes that have died (a process killed with a read
    /// transaction open leaves its slot, which keeps the pages it saw from being reused, so the
    /// file would grow with every write). Runs at open and every `readerCheckInterval` write
    /// transactions; returns the slots cleared.
    @discardableResult
    public func clearStaleReaders() throws -> Int {
        var cleared: Int32 = 0
        try check(mdb_reader_check(environment, &cleared), "clear stale readers")
        return Int(cleared)
    }

    /// The process id of every reader slot in use: one per read transaction open in any
    /// process, and one per slot a dead process left (until `clearStaleReaders`).
    public func readerProcesses() throws -> [Int32] {
        final class Lines { var text = "" }
        let lines = Lines()
        let code = withExtendedLifetime(lines) {
            mdb_reader_list(
                environment,
                { message, context in
                    guard let message, let context else { return 0 }
                    Unmanaged<Lines>.fromOpaque(context).takeUnretainedValue().text += String(cString: message)
                    return 0
                }, Unmanaged.passUnretained(lines).toOpaque())
        }
        guard code >= 0 else { throw StoreError.lmdb(code: code, operation: "list readers", path: directory) }
        // A header line, then "pid thread txnid" per slot (or "(no active readers)").
        return lines.text.split(separator: "\n").dropFirst().compactMap {
            $0.split(separator: " ").first.flatMap { Int32($0) }
        }
    }

    // MARK: Information and maintenance

    /// The current size of the memory map in bytes (the most the file may grow to before the map grows).
    /// Zero once a failed remap has made the environment unusable.
    public var mapSize: Int {
        enterMap()
        defer { leaveMap() }
        return unusableReason == nil ? currentMapSize() : 0
    }

    /// Whether a failed remap has closed the environment for use (see `write`).
    public var isUsable: Bool {
        enterMap()
        defer { leaveMap() }
        return unusableReason == nil
    }

    /// The size of `data.mdb` in bytes.
    public func sizeOnDisk() throws -> Int {
        var status = stat()
        guard stat(directory + "/data.mdb", &status) == 0 else {
            throw StoreError.lmdb(code: errno, operation: "stat data.mdb", path: directory)
        }
        return Int(status.st_size)
    }

    /// The number of entries in `database` at the last commit.
    public func entryCount(_ database: LMDBDatabase) throws -> Int {
        try read { transaction in try transaction.entryCount(database) }
    }

    /// Writes a compacted copy of the environment (free pages dropped) into `directory`,
    /// creating it if needed, and flushes it to disk (the file and the directory entry). The
    /// destination must not already contain a `data.mdb`.
    public func copyCompacted(to destination: String) throws {
        try Self.makeDirectories(destination)
        enterMap()
        defer { leaveMap() }
        try checkUsable()
        let code = mdb_env_copy2(environment, destination, UInt32(MDB_CP_COMPACT))
        guard code == 0 else {
            if code != EEXIST { unlink(destination + "/data.mdb") }  // drop a partial copy
            throw StoreError.lmdb(code: code, operation: "copy compacted to \(destination)", path: directory)
        }
        do {
            try Self.flushToDisk(destination + "/data.mdb")
            try Self.flushToDisk(destination)
        } catch {
            unlink(destination + "/data.mdb")
            throw error
        }
    }

    /// `fsync` of a file or directory.
    public static func flushToDisk(_ path: String) throws {
        let descriptor = openForReading(path)
        guard descriptor >= 0 else { throw StoreError.lmdb(code: errno, operation: "open \(path) to sync", path: path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw StoreError.lmdb(code: errno, operation: "fsync \(path)", path: path) }
    }

    private func check(_ code: Int32, _ operation: String) throws {
        guard code == 0 else { throw StoreError.lmdb(code: code, operation: operation, path: directory) }
    }

    // MARK: Opening

    private struct Opened {
        let environment: OpaquePointer
        let identity: OpenEnvironmentRegistry.DirectoryIdentity
        let mapSize: Int
    }

    private static func open(directory: String, options: Options) throws -> Opened {
        var status = stat()
        if stat(directory, &status) != 0 {
            guard errno == ENOENT, options.create, !options.readOnly else {
                if errno == ENOENT { throw StoreError.environmentNotFound(path: directory) }
                throw StoreError.lmdb(code: errno, operation: "open environment", path: directory)
            }
            try makeDirectories(directory)
            guard stat(directory, &status) == 0 else {
                throw StoreError.lmdb(code: errno, operation: "open environment", path: directory)
            }
        }
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            throw StoreError.notAnLMDBEnvironment(path: directory, reason: "it is not a directory")
        }
        let identity = OpenEnvironmentRegistry.DirectoryIdentity(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino))

        let dataPath = directory + "/data.mdb"
        var dataStatus = stat()
        if stat(dataPath, &dataStatus) != 0 {
            guard errno == ENOENT else {
                throw StoreError.lmdb(code: errno, operation: "open environment", path: directory)
            }
            guard options.create, !options.readOnly else { throw StoreError.environmentNotFound(path: directory) }
        } else if dataStatus.st_size == 0 && !options.create {
            throw StoreError.notAnLMDBEnvironment(path: directory, reason: "data.mdb is empty")
        }

        guard OpenEnvironmentRegistry.shared.claim(identity) else { throw StoreError.alreadyOpen(path: directory) }
        var created: OpaquePointer?
        var code = mdb_env_create(&created)
        guard code == 0, let environment = created else {
            OpenEnvironmentRegistry.shared.release(identity)
            throw StoreError.lmdb(code: code, operation: "create environment handle", path: directory)
        }
        func fail(_ error: StoreError) -> StoreError {
            mdb_env_close(environment)
            OpenEnvironmentRegistry.shared.release(identity)
            return error
        }

        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let initialMapSize = (max(options.initialMapSize, pageSize) + pageSize - 1) / pageSize * pageSize
        for (result, setting) in [
            (mdb_env_set_maxreaders(environment, UInt32(clamping: options.maxReaders)), "set maxReaders"),
            (mdb_env_set_maxdbs(environment, MDB_dbi(clamping: options.maxDatabases)), "set maxDatabases"),
            (mdb_env_set_mapsize(environment, initialMapSize), "set map size"),
        ] where result != 0 {
            throw fail(.lmdb(code: result, operation: setting, path: directory))
        }

        // MDB_NOTLS: read transactions are not tied to threads (and a thread may hold several).
        // MDB_NORDAHEAD: the index reads the map at random; read-ahead would only evict useful pages.
        let flags = UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD) | (options.readOnly ? UInt32(MDB_RDONLY) : 0)
        code = mdb_env_open(environment, directory, flags, 0o644)
        switch code {
        case 0:
            break
        case MDB_INVALID:
            throw fail(.notAnLMDBEnvironment(path: directory, reason: "data.mdb or lock.mdb is not an LMDB file"))
        case MDB_VERSION_MISMATCH:
            throw fail(.notAnLMDBEnvironment(path: directory, reason: "it was written by an incompatible LMDB version"))
        case ENOENT:
            throw fail(.environmentNotFound(path: directory))
        default:
            throw fail(.lmdb(code: code, operation: "open environment", path: directory))
        }

        // A file cut short would pass the header checks and then fault (SIGBUS) when a missing
        // page is read through the map; refuse it while that is still cheap to notice.
        var info = MDB_envinfo()
        var environmentStatus = MDB_stat()
        mdb_env_info(environment, &info)
        mdb_env_stat(environment, &environmentStatus)
        let requiredBytes = (info.me_last_pgno + 1) * Int(environmentStatus.ms_psize)
        guard stat(dataPath, &dataStatus) == 0 else {
            throw fail(.lmdb(code: errno, operation: "open environment", path: directory))
        }
        if Int(dataStatus.st_size) < requiredBytes {
            throw fail(
                .notAnLMDBEnvironment(
                    path: directory,
                    reason: "data.mdb is truncated (\(dataStatus.st_size) bytes; its pages need \(requiredBytes))"))
        }
        return Opened(environment: environment, identity: identity, mapSize: info.me_mapsize)
    }

    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw StoreError.lmdb(code: errno, operation: "create directory \(prefix)", path: path)
            }
        }
    }
}

/// `open(path, O_RDONLY)` (a free function, where `open` names the C call).
private func openForReading(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }
