import QuarryIndex
import QuarryStore

/// A collection's posting lists in its `lists` database, seen through one transaction: read
/// through a read transaction, read and written through a write transaction. Block `b` of list
/// `l` is the value under key (l, b); blocks are numbered from 0 without gaps, and every block
/// but a list's last one is full, so appending finds the last block with one cursor seek and
/// rewrites only it and the blocks it adds. Blocks read are the map's own bytes (zero-copy),
/// valid while the transaction lives (in a write transaction, until its next change).
///
/// The list count is the collection's (its manifest's); `addLists` raises it for this view only,
/// and the coordinator records the new count (and the new lists' centroids) in the same
/// transaction.
struct LMDBInvertedLists<Transaction: LMDBReadTransaction>: InvertedLists {
    let txn: Transaction
    let database: LMDBDatabase
    let codeBytes: Int
    let blockCapacity: Int
    private(set) var listCount: Int
    /// The collection's directory, for errors.
    let path: String

    init(
        txn: Transaction, database: LMDBDatabase, listCount: Int, dimension: Int, blockCapacity: Int, path: String
    ) {
        self.txn = txn
        self.database = database
        self.listCount = listCount
        codeBytes = IVFLayout.codeBytes(dimension: dimension)
        self.blockCapacity = blockCapacity
        self.path = path
    }

    func listSize(_ list: Int) throws -> Int {
        var size = 0
        try forEachBlock(ofList: list) { size += $0.count }
        return size
    }

    func forEachBlock(ofList list: Int, _ body: (IVFBlock) throws -> Void) throws {
        try checkList(list)
        try txn.forEach(database, prefix: BlockKey.prefix(list: UInt32(list))) { _, value in
            try body(try block(value, list: list))
            return true
        }
    }

    /// The last block of `list`, copied; nil when the list is empty.
    func lastBlock(of list: Int) throws -> ListBlock? {
        guard let last = try txn.last(database, prefix: BlockKey.prefix(list: UInt32(list))) else { return nil }
        return ListBlock(
            try block(last.value, list: list), number: try blockNumber(last.key, list: list), codeBytes: codeBytes)
    }

    private func block(_ value: UnsafeRawBufferPointer, list: Int) throws -> IVFBlock {
        guard let block = IVFBlock(bytes: value, codeBytes: codeBytes) else {
            throw QuarryError.corrupt(path: path, reason: "posting list \(list) holds a malformed block")
        }
        return block
    }

    private func blockNumber(_ key: some Collection<UInt8>, list: Int) throws -> Int {
        guard let decoded = try? Array(key).withUnsafeBytes({ try BlockKey.decode($0) }), Int(decoded.list) == list
        else {
            throw QuarryError.corrupt(path: path, reason: "posting list \(list) holds a malformed block key")
        }
        return Int(decoded.number)
    }

    fileprivate func key(list: Int, block: Int) -> [UInt8] {
        BlockKey.encode(list: UInt32(list), number: UInt32(block))
    }

    fileprivate mutating func raiseListCount(by count: Int) { listCount += count }
}

extension LMDBInvertedLists: MutableInvertedLists where Transaction == LMDBWriteTransaction {
    func append(toList list: Int, ids: [UInt64], codes: [UInt8]) throws {
        try checkList(list)
        try checkEntries(ids: ids, codes: codes)
        guard !ids.isEmpty else { return }
        let tail = try lastBlock(of: list)
        try write(
            ListBlock.appending(ids: ids, codes: codes, to: tail, capacity: blockCapacity, codeBytes: codeBytes), list)
    }

    @discardableResult
    func remove(id: UInt64, fromList list: Int) throws -> Bool {
        try checkList(list)
        var holder: (block: ListBlock, slot: Int)?
        try txn.forEach(database, prefix: BlockKey.prefix(list: UInt32(list))) { key, value in
            let block = try block(value, list: list)
            guard let slot = (0..<block.count).first(where: { block.id(at: $0) == id }) else { return true }
            holder = (ListBlock(block, number: try blockNumber(key, list: list), codeBytes: codeBytes), slot)
            return false
        }
        guard let holder, let tail = try lastBlock(of: list) else { return false }
        try write(ListBlock.removing(slot: holder.slot, of: holder.block, tail: tail, codeBytes: codeBytes), list)
        return true
    }

    func replace(list: Int, ids: [UInt64], codes: [UInt8]) throws {
        try checkList(list)
        try checkEntries(ids: ids, codes: codes)
        var keys: [[UInt8]] = []
        try txn.forEach(database, prefix: BlockKey.prefix(list: UInt32(list))) { key, _ in
            keys.append(Array(key))
            return true
        }
        for key in keys { try txn.delete(database, key: key) }
        try write(
            ListBlock.appending(ids: ids, codes: codes, to: nil, capacity: blockCapacity, codeBytes: codeBytes), list)
    }

    mutating func addLists(_ count: Int) throws -> Range<Int> {
        guard count >= 0, listCount + count <= Int(UInt32.max) else {
            throw InvertedListsError.tooManyLists(listCount + max(count, 0))
        }
        let added = listCount..<listCount + count
        raiseListCount(by: count)
        return added
    }

    /// Stores `blocks` of `list` under their numbers; an empty one is deleted.
    private func write(_ blocks: [ListBlock], _ list: Int) throws {
        for block in blocks {
            if block.ids.isEmpty {
                try txn.delete(database, key: key(list: list, block: block.number))
            } else {
                try txn.put(
                    database, key: key(list: list, block: block.number), value: block.encoded(codeBytes: codeBytes))
            }
        }
    }
}

extension QuarryCollection {
    /// The posting lists as `txn` sees them, with the list count and block capacity of `manifest`.
    func invertedLists<Transaction: LMDBReadTransaction>(
        _ txn: Transaction, manifest: CollectionManifest
    ) -> LMDBInvertedLists<Transaction> {
        LMDBInvertedLists(
            txn: txn, database: databases.lists, listCount: manifest.listCount, dimension: manifest.dimension,
            blockCapacity: manifest.blockCapacity, path: path)
    }
}
