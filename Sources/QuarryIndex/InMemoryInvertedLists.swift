/// Posting lists held in memory, block for block as LMDB stores them: for in-memory indexes,
/// tests and scratch work. A block lives in its own allocation, replaced (and freed) when its
/// list is written, so the blocks a search is handed stay put until then.
public final class InMemoryInvertedLists: MutableInvertedLists {
    public let codeBytes: Int
    public let blockCapacity: Int
    private var lists: [[BlockBuffer]]

    /// `listCount` empty lists of codes of `codeBytes` bytes, in blocks of `blockCapacity` entries.
    public init(listCount: Int, codeBytes: Int, blockCapacity: Int = 256) {
        precondition(listCount >= 0 && codeBytes > 0 && blockCapacity > 0)
        self.codeBytes = codeBytes
        self.blockCapacity = blockCapacity
        lists = Array(repeating: [], count: listCount)
    }

    public var listCount: Int { lists.count }

    public func listSize(_ list: Int) throws -> Int {
        try checkList(list)
        return try lists[list].reduce(0) { $0 + (try $1.block(list: list, codeBytes: codeBytes)).count }
    }

    public func forEachBlock(ofList list: Int, _ body: (IVFBlock) throws -> Void) throws {
        try checkList(list)
        for buffer in lists[list] { try body(try buffer.block(list: list, codeBytes: codeBytes)) }
    }

    public func append(toList list: Int, ids: [UInt64], codes: [UInt8]) throws {
        try checkList(list)
        try checkEntries(ids: ids, codes: codes)
        guard !ids.isEmpty else { return }
        let tail = try lastBlock(of: list)
        let written = ListBlock.appending(
            ids: ids, codes: codes, to: tail, capacity: blockCapacity, codeBytes: codeBytes)
        for block in written { store(block, in: list) }
    }

    @discardableResult
    public func remove(id: UInt64, fromList list: Int) throws -> Bool {
        try checkList(list)
        for (number, buffer) in lists[list].enumerated() {
            let block = try buffer.block(list: list, codeBytes: codeBytes)
            guard let slot = (0..<block.count).first(where: { block.id(at: $0) == id }) else { continue }
            let holder = ListBlock(block, number: number, codeBytes: codeBytes)
            guard let tail = try lastBlock(of: list) else { return false }
            for written in ListBlock.removing(slot: slot, of: holder, tail: tail, codeBytes: codeBytes) {
                store(written, in: list)
            }
            return true
        }
        return false
    }

    public func replace(list: Int, ids: [UInt64], codes: [UInt8]) throws {
        try checkList(list)
        try checkEntries(ids: ids, codes: codes)
        lists[list] = []
        for block in ListBlock.appending(ids: ids, codes: codes, to: nil, capacity: blockCapacity, codeBytes: codeBytes)
        {
            store(block, in: list)
        }
    }

    public func addLists(_ count: Int) throws -> Range<Int> {
        guard count >= 0, lists.count + count <= Int(UInt32.max) else {
            throw InvertedListsError.tooManyLists(lists.count + max(count, 0))
        }
        let added = lists.count..<lists.count + count
        lists.append(contentsOf: repeatElement([], count: count))
        return added
    }

    /// The last block of `list`, copied; nil when the list is empty.
    private func lastBlock(of list: Int) throws -> ListBlock? {
        guard let last = lists[list].last else { return nil }
        return ListBlock(
            try last.block(list: list, codeBytes: codeBytes), number: lists[list].count - 1, codeBytes: codeBytes)
    }

    /// Writes `block` at its number: over an existing block, after the last, or (empty, and
    /// the last) by dropping it.
    private func store(_ block: ListBlock, in list: Int) {
        if block.ids.isEmpty {
            precondition(block.number == lists[list].count - 1, "only a list's last block empties")
            lists[list].removeLast()
        } else if block.number == lists[list].count {
            lists[list].append(BlockBuffer(block.encoded(codeBytes: codeBytes)))
        } else {
            lists[list][block.number] = BlockBuffer(block.encoded(codeBytes: codeBytes))
        }
    }
}

/// One block's bytes in an allocation of its own, freed with the buffer.
private final class BlockBuffer {
    private let bytes: UnsafeMutableRawBufferPointer

    init(_ encoded: [UInt8]) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: encoded.count, alignment: 8)
        encoded.withUnsafeBytes { bytes.copyMemory(from: $0) }
    }

    deinit { bytes.deallocate() }

    func block(list: Int, codeBytes: Int) throws -> IVFBlock {
        guard let block = IVFBlock(bytes: UnsafeRawBufferPointer(bytes), codeBytes: codeBytes) else {
            throw InvertedListsError.malformedBlock(list: list)
        }
        return block
    }
}
