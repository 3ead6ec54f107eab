import CQuarryKernels
import Foundation
import QuarryBase
import QuarryIndex
import QuarrySchema
import QuarryStore

/// A search hit: the document's external key and its cosine similarity to the query.
public struct Hit: Sendable, Equatable, Codable {
    public var key: String
    public var score: Float
    public init(key: String, score: Float) {
        self.key = key
        self.score = score
    }
}

/// Figures about a collection.
public struct CollectionStats: Sendable, Codable {
    public var dimension: Int
    public var vectors: Int
    public var documents: Int
    public var model: String?
    public var lists: Int
    public var trainingSize: Int
    public var quantization: String?
    public var smallestList: Int
    public var largestList: Int
    /// Posting-list entries over lists (with spilling, a vector counts in both its lists).
    public var meanListSize: Double
    public var emptyLists: Int
    /// Posting-list entries: the vector count, or up to twice it with spilling.
    public var listEntries: Int
    /// The redundant-assignment penalty, when the collection spills.
    public var spillPenalty: Double?
    public var bytesOnDisk: Int
}

/// A Quarry collection: one LMDB environment holding an IVF index of INT8 vectors with 1-bit
/// codes in its posting lists. Any number of threads may search while one ingest writes;
/// every search reads one committed state.
///
/// Several processes may open one collection: LMDB keeps one writer at a time across them,
/// every change to the manifest is a read-modify-write of the committed one inside its write
/// transaction, and a read notices another process's commits (its transaction id differs
/// from the one the cached manifest and centroids were confirmed at) and reloads what
/// changed. Each process holds a shared lock on the directory (`DirectoryLock`) while open;
/// `compact` needs it exclusive.
public final class QuarryCollection: @unchecked Sendable {
    public let path: String
    let environment: LMDBEnvironment
    let databases: Databases
    let lock = NSLock()
    /// Held for the whole of an ingest or delete, so that writers from several threads take
    /// turns (LMDB has one writer; this also keeps training and manifest updates in order).
    let writerLock = NSLock()
    /// Held shared while the collection is open (exclusive during compaction).
    private let directoryLock: DirectoryLock
    // The cached committed state, guarded by `lock`.
    private var manifestState: CollectionManifest
    /// The manifest's bytes as committed: a read compares them to notice a change.
    private var manifestBytes: [UInt8]
    private var centroidState: [Float]
    /// Counts the centroid sets loaded; a search slot belongs to one.
    private var centroidGeneration = 0
    /// The newest transaction id the cached state is known to match.
    private var stateTransactionID: Int
    private var idleSearchers: [SearchSlot] = []

    /// A searcher with the record segments and posting-list blocks its searches found (kept
    /// while the collection's snapshot stays the same). One search uses a slot at a time.
    final class SearchSlot {
        let searcher: IVFSearcher
        /// The centroid set its searcher was built on (see `centroidGeneration`).
        let centroidGeneration: Int
        let segments = SegmentAddresses()
        let listBlocks = SnapshotMemo<[IVFBlock]>()
        init(_ searcher: IVFSearcher, centroidGeneration: Int) {
            self.searcher = searcher
            self.centroidGeneration = centroidGeneration
        }
    }

    /// The manifest and coarse centroids of one committed state.
    struct State {
        var manifest: CollectionManifest
        var centroids: [Float]
        /// `centroidGeneration` of the cached centroids, or nil for centroids of an older
        /// snapshot than the cached state (loaded for one read only).
        var centroidGeneration: Int?
    }

    struct Databases {
        /// The databases of `CollectionSchema.Database`, which says what each holds.
        let meta, centroids, lists, vectors, keys, idKeys, docs, spills: LMDBDatabase
        let attributes, postings, columns: LMDBDatabase

        /// Opens (creating where missing) every database of the schema in `environment`.
        init(_ environment: LMDBEnvironment) throws {
            func open(_ database: CollectionSchema.Database) throws -> LMDBDatabase {
                try environment.openDatabase(database.name, create: true)
            }
            meta = try open(.meta)
            centroids = try open(.centroids)
            lists = try open(.lists)
            vectors = try open(.vectors)
            keys = try open(.keys)
            idKeys = try open(.idKeys)
            docs = try open(.docs)
            spills = try open(.spills)
            attributes = try open(.attributes)
            postings = try open(.postings)
            columns = try open(.columns)
        }
    }

    static let manifestKey = CollectionSchema.MetaKey.manifest
    static let nextIDKey = CollectionSchema.MetaKey.nextID

    /// The collection's manifest as last committed (by any process).
    public var manifest: CollectionManifest { (try? refreshedState().manifest) ?? loadedManifest }

    /// The manifest as cached (current as of this process's last read or write).
    var loadedManifest: CollectionManifest { lock.withLock { manifestState } }

    private init(path: String, environment: LMDBEnvironment, directoryLock: DirectoryLock) throws {
        self.path = path
        self.environment = environment
        self.directoryLock = directoryLock
        databases = try Databases(environment)
        let databases = self.databases
        let path = self.path
        (manifestBytes, manifestState, stateTransactionID) = try environment.read { txn in
            guard let bytes = try txn.get(databases.meta, key: Self.manifestKey) else {
                throw QuarryError.notACollection(path: path, reason: "its LMDB environment has no Quarry manifest")
            }
            return ([UInt8](bytes), try Self.decodeManifest(bytes, path: path), txn.transactionID)
        }
        centroidState = []
        centroidState = try environment.read { try loadCentroids($0, manifest: manifestState) }
    }

    /// Decodes a stored manifest, refusing one that is not Quarry's or of a schema version this
    /// build does not read.
    static func decodeManifest(_ bytes: UnsafeRawBufferPointer, path: String) throws -> CollectionManifest {
        let manifest = try CollectionManifest.decodeStored(bytes, path: path)
        guard CollectionSchema.readableVersions.contains(manifest.schemaVersion) else {
            throw QuarryError.incompatibleSchema(
                path: path, found: manifest.schemaVersion, readable: CollectionSchema.readableVersions)
        }
        return manifest
    }

    /// Creates an empty collection in `path`, which must not exist or be an empty directory.
    /// Creates an empty collection. `spillPenalty` turns on redundant (SOAR-style) assignment:
    /// each vector is also kept in a second list, which costs ~136 bytes a vector at 1,024
    /// dimensions and twice the codes scanned a probe, for fewer probes at a given recall.
    /// `fields` declares the metadata fields documents are indexed by for filters (each
    /// "metadata.NAME"); with none declared, every top-level metadata field of an indexable
    /// kind is indexed on first sight.
    public static func create(
        at path: String, dimension: Int, listCount: Int? = nil, spillPenalty: Double? = nil,
        fields: [AttributeField] = []
    ) throws -> QuarryCollection {
        try Limits.check(dimension, in: 1...Limits.maxDimension, "the dimension")
        if let listCount { try Limits.check(listCount, in: 1...Limits.maxListCount, "the list count") }
        if let spillPenalty, !(spillPenalty >= 0 && spillPenalty <= 1e6) {
            throw QuarryError.invalidArgument("the spill penalty must be between 0 and 1e6, got \(spillPenalty)")
        }
        for field in fields { try validateDeclared(field) }
        guard Set(fields.map(\.name)).count == fields.count else {
            throw QuarryError.invalidArgument("a field is declared twice")
        }
        try Limits.check(fields.count, in: 0...AttributeCatalogue.maxMetadataFields, "the number of declared fields")
        let files = FileManager.default
        if files.fileExists(atPath: path) {
            guard (try? files.contentsOfDirectory(atPath: path))?.isEmpty == true else {
                throw QuarryError.collectionExists(path: path)
            }
        } else {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        // Inside the registry's lock, so that an `open` of the same path in this process waits
        // for the new collection instead of opening its environment a second time.
        return try registry.shared(at: path) {
            let directoryLock = try DirectoryLock(directory: path, mode: .shared)
            let environment = try LMDBEnvironment(directory: path, options: environmentOptions(create: true))
            let manifest = CollectionManifest(
                dimension: dimension, requestedListCount: listCount, spillPenalty: spillPenalty, declaring: fields)
            let meta = try environment.openDatabase(CollectionSchema.Database.meta.name, create: true)
            try environment.write { txn in
                try txn.put(meta, key: manifestKey, value: try manifest.encodeStored())
            }
            return try QuarryCollection(path: path, environment: environment, directoryLock: directoryLock)
        }
    }

    /// The environment variable that caps a collection's map (in MiB), for tests and harnesses
    /// of a full map; unset, the map may grow to 1 TiB.
    public static let maxMapSizeVariable = "QUARRY_MAX_MAP_MB"

    static func environmentOptions(create: Bool) -> LMDBEnvironment.Options {
        var options = LMDBEnvironment.Options(create: create)
        if let text = ProcessInfo.processInfo.environment[maxMapSizeVariable], let megabytes = Int(text),
            megabytes > 0, megabytes <= 1 << 20
        {
            options.maxMapSize = megabytes << 20
            options.initialMapSize = min(options.initialMapSize, options.maxMapSize)
        }
        return options
    }

    /// Collections open in this process, by resolved path: opening one again shares it (LMDB
    /// allows one environment handle per file per process).
    static let registry = OpenCollections()

    final class OpenCollections: @unchecked Sendable {
        private let lock = NSLock()
        private var open: [String: WeakCollection] = [:]

        struct WeakCollection { weak var collection: QuarryCollection? }

        func isOpen(_ path: String) -> Bool {
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
            return lock.withLock { open[resolved]?.collection != nil }
        }

        func shared(at path: String, opening: () throws -> QuarryCollection) throws -> QuarryCollection {
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
            return try lock.withLock {
                if let existing = open[resolved]?.collection { return existing }
                let collection = try opening()
                open = open.filter { $0.value.collection != nil }
                open[resolved] = WeakCollection(collection: collection)
                return collection
            }
        }
    }

    /// Opens the collection in `path`; a collection already open in this process is shared.
    public static func open(at path: String) throws -> QuarryCollection {
        try registry.shared(at: path) { try openUnshared(at: path) }
    }

    /// Opens the collection without registering it; with `directoryLock`, under that lock
    /// (compaction's exclusive one) instead of a shared one of its own.
    static func openUnshared(at path: String, directoryLock: DirectoryLock? = nil) throws -> QuarryCollection {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw QuarryError.collectionNotFound(path: path)
        }
        guard isDirectory.boolValue else {
            throw QuarryError.notACollection(path: path, reason: "it is a file, not a directory")
        }
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw QuarryError.notACollection(path: path, reason: "it holds no data.mdb")
        }
        let heldLock = try directoryLock ?? DirectoryLock(directory: path, mode: .shared)
        let environment: LMDBEnvironment
        do {
            environment = try LMDBEnvironment(directory: path, options: environmentOptions(create: false))
        } catch {
            throw QuarryError.notACollection(path: path, reason: "\(error)")
        }
        guard let meta = try? environment.openDatabase(CollectionSchema.Database.meta.name, create: false) else {
            throw QuarryError.notACollection(path: path, reason: "its LMDB environment has no Quarry metadata")
        }
        try environment.read { txn in
            guard let bytes = try txn.get(meta, key: manifestKey) else {
                throw QuarryError.notACollection(path: path, reason: "its LMDB environment has no Quarry manifest")
            }
            _ = try decodeManifest(bytes, path: path)
        }
        return try QuarryCollection(path: path, environment: environment, directoryLock: heldLock)
    }

    // MARK: Reading

    /// The number of stored vectors.
    public func vectorCount() throws -> Int { try environment.entryCount(databases.idKeys) }

    /// Prepares a float query: quantized like the collection's vectors.
    public func prepare(query: [Float]) throws -> PreparedQuery {
        // The quantization is fixed once set; while unset another process may have just set it.
        let cached = loadedManifest
        let manifest = cached.quantization == nil ? self.manifest : cached
        guard query.count == manifest.dimension else {
            throw QuarryError.dimensionMismatch(expected: manifest.dimension, found: query.count, source: "the query")
        }
        guard query.allSatisfy(\.isFinite) else {
            throw QuarryError.invalidArgument("the query holds a NaN or infinite value")
        }
        var values = [Int8](repeating: 0, count: query.count)
        query.withUnsafeBufferPointer { q in
            values.withUnsafeMutableBufferPointer { v in
                (manifest.quantization ?? .tanh).quantize(q.baseAddress!, count: q.count, into: v.baseAddress!)
            }
        }
        return PreparedQuery(int8: values)
    }

    /// Prepares an INT8 query.
    public func prepare(int8 query: [Int8]) throws -> PreparedQuery {
        let dimension = loadedManifest.dimension
        guard query.count == dimension else {
            throw QuarryError.dimensionMismatch(expected: dimension, found: query.count, source: "the query")
        }
        return PreparedQuery(int8: query)
    }

    /// Approximate search. `nprobe` and `oversample` default to the collection's tuned values;
    /// `threads` above one splits the search between that many threads (worth it at large k).
    /// With `filter`, only vectors whose documents match it are returned, and `k` of them
    /// whenever `k` match (see `FilterStrategy` for how). With `profile`, the search adds where
    /// its time went to it.
    public func search(
        _ query: PreparedQuery, k: Int, nprobe: Int? = nil, oversample: Double? = nil,
        prefilter: Prefilter? = nil, threads: Int = 1, filter: FilterExpression? = nil,
        profile: SearchProfile? = nil
    ) throws -> [Hit] {
        // Checked before reading, so that bad arguments are refused on an untrained collection too.
        _ = try searchParameters(k: k, nprobe: nprobe, oversample: oversample, prefilter: prefilter)
        try Limits.check(threads, in: 1...Limits.maxThreads, "the thread count")
        return try environment.read { txn in
            let matching = try profile.measure(.filter) { try searchFilter(filter, txn) }
            return try withSearcher(in: txn) { slot in
                slot.searcher.profile = profile
                defer { slot.searcher.profile = nil }
                var parameters = try searchParameters(
                    k: k, nprobe: nprobe, oversample: oversample, prefilter: prefilter)
                parameters.threads = threads
                let storage = LMDBIVFStorage(txn: txn, collection: self, slot: slot)
                let found =
                    try matching.map {
                        try slot.searcher.search(query, parameters: parameters, in: storage, filter: $0)
                    }
                    ?? slot.searcher.search(query, parameters: parameters, in: storage)
                return try profile.measure(.keys) { try hits(found, txn) }
            }
        } ?? []
    }

    /// The vectors `filter` matches as `txn` sees them; nil for no filter. Refuses a filter on
    /// a collection stored before attribute indexes, or on a field it does not index.
    func searchFilter(_ filter: FilterExpression?, _ txn: LMDBReadTransaction) throws -> SearchFilter? {
        guard let filter, filter != .all else { return nil }
        let manifest = try state(in: txn).manifest
        guard let fields = manifest.fields, manifest.schemaVersion >= 3 else {
            throw QuarryError.invalidArgument(
                "\(path) was stored before filters (schema version \(manifest.schemaVersion)); its next write, or `quarry index-fields \(path)`, indexes its fields"
            )
        }
        let compiled = try CompiledFilter(filter.normalizingHosts(), fields: fields)
        let index = try attributeIndex(txn)
        return SearchFilter(matches: try compiled.matches(in: index), liveCount: try txn.entryCount(databases.idKeys))
    }

    /// How many live vectors `filter` matches, and how many are live.
    public func filterMatches(_ filter: FilterExpression) throws -> (matches: Int, live: Int) {
        try environment.read { txn in
            let live = try txn.entryCount(databases.idKeys)
            return (try searchFilter(filter, txn)?.matchCount ?? live, live)
        }
    }

    /// Approximate search of many queries at once: the queries are split between `threads`
    /// threads, and each thread reads a probed list once for all its queries that probe it
    /// (in rounds of `batchSize` queries). Results equal one `search` per query.
    public func search(
        batch queries: [PreparedQuery], k: Int, nprobe: Int? = nil, oversample: Double? = nil,
        prefilter: Prefilter? = nil, threads: Int = 1
    ) throws -> [[Hit]] {
        try refreshedState()
        let parameters = try searchParameters(k: k, nprobe: nprobe, oversample: oversample, prefilter: prefilter)
        try Limits.check(threads, in: 1...Limits.maxThreads, "the thread count")
        var results = [[Hit]](repeating: [], count: queries.count)
        let parts = max(1, min(threads, queries.count))
        let ranges = (0..<parts).map { part in
            (queries.count * part / parts)..<(queries.count * (part + 1) / parts)
        }
        try results.withUnsafeMutableBufferPointer { results in
            try concurrentlyThrowing(parts) { part in
                // Each thread its own read transaction: LMDB's are not shared between threads.
                try environment.read { txn in
                    try withSearcher(in: txn) { slot in
                        let storage = LMDBIVFStorage(txn: txn, collection: self, slot: slot)
                        for start in stride(
                            from: ranges[part].lowerBound, to: ranges[part].upperBound, by: Self.batchSize)
                        {
                            let round = start..<min(start + Self.batchSize, ranges[part].upperBound)
                            let found = try slot.searcher.search(
                                batch: Array(queries[round]), parameters: parameters, in: storage)
                            for (offset, scored) in found.enumerated() {
                                results[round.lowerBound + offset] = try hits(scored, txn)
                            }
                        }
                    }
                }
            }
        }
        return results
    }

    /// Queries a batched search scans together: enough to share list reads, few enough that
    /// their candidate buffers stay small.
    static let batchSize = 256

    /// Exact search: INT8 cosine against every stored vector (that `filter` matches).
    public func exactSearch(_ query: PreparedQuery, k: Int, filter: FilterExpression? = nil) throws -> [Hit] {
        try Limits.check(k, in: 1...Limits.maxK, "k")
        let manifest = self.manifest
        let dimension = manifest.dimension
        let searcher = IVFSearcher(centroids: [Float](repeating: 0, count: dimension), dimension: dimension)
        return try environment.read { txn in
            let storage = LMDBIVFStorage(txn: txn, collection: self, manifest: manifest)
            if let matching = try searchFilter(filter, txn) {
                return try hits(searcher.exactSearch(query, k: k, in: storage, among: matching.matches), txn)
            }
            return try hits(searcher.exactSearch(query, k: k, in: storage), txn)
        }
    }

    /// Validated search parameters.
    public func searchParameters(
        k: Int, nprobe: Int?, oversample: Double?, prefilter: Prefilter? = nil
    ) throws -> SearchParameters {
        let manifest = loadedManifest
        try Limits.check(k, in: 1...Limits.maxK, "k")
        let lists = max(manifest.listCount, 1)
        // Untuned default: about √nlist lists, at least 8 (`quarry tune` records a measured one).
        let probes = nprobe ?? min(lists, manifest.defaultProbeCount ?? max(8, Int(Double(lists).squareRoot())))
        guard probes > 0 else { throw QuarryError.invalidArgument("nprobe must be positive, got \(probes)") }
        guard manifest.listCount == 0 || probes <= manifest.listCount else {
            throw QuarryError.invalidArgument(
                "nprobe \(probes) exceeds the collection's \(manifest.listCount) lists")
        }
        let factor = oversample ?? manifest.defaultOversample ?? 4
        guard factor >= 1, factor <= Limits.maxOversample else {
            throw QuarryError.invalidArgument(
                "oversample must be between 1 and \(Int(Limits.maxOversample)), got \(factor)")
        }
        guard Double(k) * factor <= Double(Limits.maxCandidates) else {
            throw QuarryError.invalidArgument(
                "k × oversample asks for \(Double(k) * factor) candidates; at most \(Limits.maxCandidates)")
        }
        return SearchParameters(
            k: k, nprobe: probes, oversample: factor,
            prefilter: prefilter ?? manifest.defaultPrefilter ?? .asymmetric,
            listsShareVectors: manifest.spillPenalty != nil)
    }

    /// Runs `body` with a searcher for `txn`'s snapshot from the pool; nil when the snapshot
    /// is untrained.
    private func withSearcher<R>(in txn: LMDBReadTransaction, _ body: (SearchSlot) throws -> R) throws -> R? {
        let id = txn.transactionID
        // The common case, one lock: the cached state is the snapshot's.
        var slot: SearchSlot? = lock.withLock {
            guard id == stateTransactionID, !centroidState.isEmpty else { return nil }
            return idleSearchers.popLast()
                ?? SearchSlot(
                    IVFSearcher(centroids: centroidState, dimension: manifestState.dimension),
                    centroidGeneration: centroidGeneration)
        }
        if slot == nil {
            let state = try state(in: txn)
            guard !state.centroids.isEmpty else { return nil }
            slot = lock.withLock {
                if state.centroidGeneration == centroidGeneration, let idle = idleSearchers.popLast() { return idle }
                return SearchSlot(
                    IVFSearcher(centroids: state.centroids, dimension: state.manifest.dimension),
                    centroidGeneration: state.centroidGeneration ?? -1)
            }
        }
        guard let slot else { return nil }
        defer {
            lock.withLock { if slot.centroidGeneration == centroidGeneration { idleSearchers.append(slot) } }
        }
        return try body(slot)
    }

    /// The manifest and centroids committed in `txn`'s snapshot. The cached ones when nothing
    /// was committed since they were confirmed; otherwise the stored manifest's bytes are
    /// compared with the cached ones and, when they differ, the manifest (and, when it was
    /// trained anew, the centroids) are reloaded and, for a snapshot newer than the cache,
    /// cached.
    @discardableResult
    func state(in txn: LMDBReadTransaction) throws -> State {
        let id = txn.transactionID
        let cached = lock.withLock {
            (
                current: id == stateTransactionID, bytes: manifestBytes,
                state: State(manifest: manifestState, centroids: centroidState, centroidGeneration: centroidGeneration)
            )
        }
        if cached.current { return cached.state }
        guard let stored = try txn.get(databases.meta, key: Self.manifestKey) else {
            throw QuarryError.notACollection(path: path, reason: "its LMDB environment has no Quarry manifest")
        }
        let bytes = [UInt8](stored)
        if bytes == cached.bytes {
            lock.withLock { if id > stateTransactionID && manifestBytes == bytes { stateTransactionID = id } }
            return cached.state
        }
        let manifest = try Self.decodeManifest(stored, path: path)
        let centroids =
            Self.sameTraining(manifest, cached.state.manifest)
            ? cached.state.centroids : try loadCentroids(txn, manifest: manifest)
        return lock.withLock {
            let sameCentroids = Self.sameTraining(manifest, manifestState)
            guard id > stateTransactionID else {
                // An older snapshot than the cache (a read begun before a newer one was seen).
                return State(
                    manifest: manifest, centroids: sameCentroids ? centroidState : centroids,
                    centroidGeneration: sameCentroids ? centroidGeneration : nil)
            }
            manifestState = manifest
            manifestBytes = bytes
            stateTransactionID = id
            if !sameCentroids {
                centroidState = centroids
                centroidGeneration += 1
                idleSearchers.removeAll()
            }
            return State(manifest: manifest, centroids: centroidState, centroidGeneration: centroidGeneration)
        }
    }

    /// The state as last committed, reloaded when another process changed it.
    @discardableResult
    func refreshedState() throws -> State { try environment.read { try state(in: $0) } }

    /// Whether two manifests describe the same trained coarse quantizer (centroids are
    /// written once, by the training that sets the list count and training size).
    static func sameTraining(_ a: CollectionManifest, _ b: CollectionManifest) -> Bool {
        a.listCount == b.listCount && a.trainingSize == b.trainingSize
    }

    func hits(_ results: [ScoredID], _ txn: LMDBReadTransaction) throws -> [Hit] {
        // Look keys up in id order (neighbouring ids share B-tree pages), then restore rank order.
        var keys = [String](repeating: "", count: results.count)
        for index in results.indices.sorted(by: { results[$0].id < results[$1].id }) {
            let id = results[index].id
            guard let key = try txn.get(databases.idKeys, key: InternalID.encode(id)) else {
                throw QuarryError.corrupt(path: path, reason: "vector \(id) has no key")
            }
            keys[index] = TextKey.decode(key)
        }
        return zip(keys, results).map { Hit(key: $0, score: $1.score) }
    }

    func loadCentroids(_ txn: LMDBReadTransaction, manifest: CollectionManifest) throws -> [Float] {
        let listCount = manifest.listCount
        guard listCount > 0 else { return [] }
        let dimension = manifest.dimension
        var centroids: [Float] = []
        centroids.reserveCapacity(listCount * dimension)
        for list in 0..<listCount {
            guard let bytes = try txn.get(databases.centroids, key: ListID.encode(UInt32(list))),
                let row = try? CentroidRow.decode(bytes, dimension: dimension)
            else {
                throw QuarryError.corrupt(path: path, reason: "centroid \(list) is missing or malformed")
            }
            centroids += row
        }
        return centroids
    }

    /// The manifest as committed in `txn`.
    func committedManifest(_ txn: LMDBReadTransaction) throws -> CollectionManifest {
        guard let bytes = try txn.get(databases.meta, key: Self.manifestKey) else {
            throw QuarryError.notACollection(path: path, reason: "its LMDB environment has no Quarry manifest")
        }
        return try Self.decodeManifest(bytes, path: path)
    }

    /// Changes the manifest as committed, inside the write transaction `txn`: `change` edits
    /// only the fields it means to, so what other processes committed (tuned defaults, the
    /// training) is kept. Writes only when something changed; returns the manifest as it will
    /// commit.
    @discardableResult
    func updateManifest(_ txn: LMDBWriteTransaction, _ change: (inout CollectionManifest) throws -> Void) throws
        -> CollectionManifest
    {
        let committed = try committedManifest(txn)
        var updated = committed
        try change(&updated)
        if updated != committed {
            try txn.put(databases.meta, key: Self.manifestKey, value: try updated.encodeStored())
        }
        return updated
    }

    /// Reads every page of the posting lists and vectors once, so that searches timed next
    /// find them mapped (a fresh process otherwise pays a page fault per first touch). Returns
    /// the bytes visited and a sum of one byte a page (which keeps the reads from being
    /// optimised away).
    @discardableResult
    public func warm() throws -> (bytes: Int, digest: UInt8) {
        try environment.read { txn in
            var bytes = 0
            var checksum: UInt8 = 0
            for database in [databases.lists, databases.vectors, databases.keys, databases.idKeys] {
                try txn.forEach(database) { _, value in
                    var offset = 0
                    while offset < value.count {
                        checksum &+= value[offset]
                        offset += 4096
                    }
                    bytes += value.count
                    return true
                }
            }
            return (bytes, checksum)
        }
    }

    // MARK: Statistics

    /// Counts, list-size spread and bytes on disk.
    public func stats() throws -> CollectionStats {
        let manifest = self.manifest
        let sizes = try environment.read { txn in
            let lists = invertedLists(txn, manifest: manifest)
            return try (0..<lists.listCount).map(lists.listSize)
        }
        let vectors = try vectorCount()
        return CollectionStats(
            dimension: manifest.dimension, vectors: vectors, documents: try documentCount(), model: manifest.model,
            lists: manifest.listCount,
            trainingSize: manifest.trainingSize, quantization: manifest.quantization.map(describe),
            smallestList: sizes.min() ?? 0, largestList: sizes.max() ?? 0,
            meanListSize: sizes.isEmpty ? 0 : Double(sizes.reduce(0, +)) / Double(sizes.count),
            emptyLists: sizes.filter { $0 == 0 }.count, listEntries: sizes.reduce(0, +),
            spillPenalty: manifest.spillPenalty, bytesOnDisk: try environment.sizeOnDisk())
    }

    private func describe(_ quantization: Int8Quantization) -> String {
        switch quantization {
        case .tanh: "tanh"
        case .calibrated(let scale): "calibrated(scale: \(scale))"
        }
    }
}

/// An IVF index read straight from an LMDB read transaction (zero-copy): its posting lists
/// (`LMDBInvertedLists`) and vector records.
final class LMDBIVFStorage: IVFStorage {
    let txn: LMDBReadTransaction
    let databases: QuarryCollection.Databases
    let dimension: Int
    let lists: LMDBInvertedLists<LMDBReadTransaction>
    private let records: VectorRecords
    /// Blocks of the lists read so far, when a search slot keeps them between transactions.
    private let listBlocks: SnapshotMemo<[IVFBlock]>?

    /// Storage for one transaction over `manifest`'s lists; with `segments` and `listBlocks`,
    /// what earlier transactions of the same snapshot found is reused and what this one finds
    /// is kept.
    init(
        txn: LMDBReadTransaction, collection: QuarryCollection, manifest: CollectionManifest,
        segments: SegmentAddresses = SegmentAddresses(), listBlocks: SnapshotMemo<[IVFBlock]>? = nil
    ) {
        self.txn = txn
        databases = collection.databases
        dimension = manifest.dimension
        lists = collection.invertedLists(txn, manifest: manifest)
        records = VectorRecords(txn: txn, database: databases.vectors, dimension: dimension, segments: segments)
        listBlocks?.use(in: txn.snapshot)
        self.listBlocks = listBlocks
    }

    /// Storage for a search with `slot`'s searcher (whose centroids name the lists), reusing
    /// the segments and blocks it found in earlier transactions of the same snapshot.
    convenience init(txn: LMDBReadTransaction, collection: QuarryCollection, slot: QuarryCollection.SearchSlot) {
        var manifest = collection.loadedManifest
        manifest.dimension = slot.searcher.dimension
        manifest.listCount = slot.searcher.listCount
        self.init(
            txn: txn, collection: collection, manifest: manifest, segments: slot.segments,
            listBlocks: slot.listBlocks)
    }

    var codeBytes: Int { lists.codeBytes }

    var listCount: Int { lists.listCount }

    func listSize(_ list: Int) throws -> Int { try lists.listSize(list) }

    func forEachBlock(ofList list: Int, _ body: (IVFBlock) throws -> Void) throws {
        if let known = listBlocks?[list] {
            for block in known { try body(block) }
            return
        }
        var found: [IVFBlock] = []
        try lists.forEachBlock(ofList: list) { found.append($0) }
        listBlocks?[list] = found
        for block in found { try body(block) }
    }

    func vector(id: UInt64) throws -> StoredVector? { try records.vector(id: id) }

    func recordAddress(id: UInt64) throws -> UnsafeRawPointer? { try records.address(id: id) }

    /// Every live vector (one with a key), in id order.
    func forEachVector(_ body: (UInt64, StoredVector) throws -> Bool) throws {
        try txn.forEach(databases.idKeys) { key, _ in
            let id = try InternalID.decode(key)
            guard let stored = try records.vector(id: id) else { return true }
            return try body(id, stored)
        }
    }
}

extension QuarryCollection {
    /// Exact neighbours of many queries at once (blocked sgemm over all stored vectors): the
    /// ground truth for evaluation, far faster than one exact search per query.
    /// With `filter`, the exact neighbours among the vectors it matches.
    public func exactNeighbors(of queries: [PreparedQuery], k: Int, filter: FilterExpression? = nil) throws -> [[Hit]] {
        try Limits.check(k, in: 1...Limits.maxK, "k")
        guard !queries.isEmpty else { return [] }
        let manifest = self.manifest
        let dimension = manifest.dimension
        return try environment.read { txn in
            let matching = try searchFilter(filter, txn)
            var ids: [UInt64] = []
            var pointers: [UnsafePointer<Int8>] = []
            try LMDBIVFStorage(txn: txn, collection: self, manifest: manifest).forEachVector { id, stored in
                if let matching, !matching.matches.contains(Int(id)) { return true }
                ids.append(id)
                pointers.append(stored.values)
                return true
            }
            let results = ExactNeighbors.compute(
                queries: queries.flatMap(\.values), dimension: dimension, baseCount: pointers.count, k: k
            ) { pointers[$0] }
            return try results.map { rows in
                try hits(rows.map { ScoredID(id: ids[Int($0.id)], score: $0.score) }, txn)
            }
        }
    }
}
