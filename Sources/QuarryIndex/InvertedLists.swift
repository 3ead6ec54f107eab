import QuarryBase

/// The posting lists of an IVF index, in the manner of FAISS's `InvertedLists`: lists numbered
/// `0..<listCount`, each a sequence of entries (an internal id and its 1-bit code) stored in
/// blocks of at most a fixed number of entries, every block but a list's last one full.
///
/// Searches read blocks in place: an `IVFBlock` handed to `forEachBlock`'s body points into the
/// storage and stays valid until that list is next written (and, for LMDB, while the
/// transaction lives). Implementations are views of their storage (an LMDB transaction, memory
/// they own), so the same code reads and writes any of them.
public protocol InvertedLists {
    /// Bytes of one entry's code.
    var codeBytes: Int { get }
    /// The number of lists.
    var listCount: Int { get }
    /// Entries in list `list`.
    func listSize(_ list: Int) throws -> Int
    /// Calls `body` with each block of list `list`, in order.
    func forEachBlock(ofList list: Int, _ body: (IVFBlock) throws -> Void) throws
}

/// Posting lists that can be written: what ingest and removal do today, and the wholesale
/// operations that list splits, merges and rebuilds are made of.
public protocol MutableInvertedLists: InvertedLists {
    /// Entries a block holds at most.
    var blockCapacity: Int { get }
    /// Appends entries to list `list`: `ids` and their codes, concatenated in `codes`. Writes only
    /// the list's last block (when it has room) and new blocks.
    mutating func append(toList list: Int, ids: [UInt64], codes: [UInt8]) throws
    /// Removes the entry of `id` from list `list`; the list's last entry moves into its slot.
    /// Returns false (and changes nothing) when the list does not hold `id`.
    @discardableResult
    mutating func remove(id: UInt64, fromList list: Int) throws -> Bool
    /// Replaces every entry of list `list` with `ids` and their `codes` (none: empties it).
    mutating func replace(list: Int, ids: [UInt64], codes: [UInt8]) throws
    /// Adds `count` empty lists after the last one and returns their numbers.
    mutating func addLists(_ count: Int) throws -> Range<Int>
}

/// Calls to posting lists that do not fit them.
public enum InvertedListsError: ClassifiedError, Equatable {
    /// A list number outside `0..<listCount`.
    case noSuchList(Int, listCount: Int)
    /// Codes whose byte count is not the ids' count times the code size.
    case mismatchedCodes(ids: Int, codeBytes: Int, found: Int)
    /// More lists than list numbers (UInt32) can name.
    case tooManyLists(Int)
    /// Stored bytes that are not a well-formed block of this index.
    case malformedBlock(list: Int)

    public var kind: ErrorKind {
        switch self {
        case .noSuchList, .mismatchedCodes, .tooManyLists: .invalidArgument
        case .malformedBlock: .corrupt
        }
    }

    public var description: String {
        switch self {
        case .noSuchList(let list, let count): "posting list \(list) does not exist (there are \(count))"
        case .mismatchedCodes(let ids, let codeBytes, let found):
            "\(ids) ids need \(ids * codeBytes) bytes of codes, got \(found)"
        case .tooManyLists(let count): "\(count) posting lists are more than list numbers can name"
        case .malformedBlock(let list): "posting list \(list) holds a malformed block"
        }
    }
}

extension InvertedLists {
    /// The entries of list `list`, copied out: ids in list order and their codes concatenated.
    public func entries(ofList list: Int) throws -> (ids: [UInt64], codes: [UInt8]) {
        var ids: [UInt64] = []
        var codes: [UInt8] = []
        let codeBytes = self.codeBytes
        try forEachBlock(ofList: list) { block in
            for index in 0..<block.count { ids.append(block.id(at: index)) }
            codes.append(contentsOf: UnsafeRawBufferPointer(start: block.codes, count: block.count * codeBytes))
        }
        return (ids, codes)
    }

    /// Throws unless `list` is one of the lists.
    public func checkList(_ list: Int) throws {
        guard (0..<listCount).contains(list) else { throw InvertedListsError.noSuchList(list, listCount: listCount) }
    }

    /// Throws unless `codes` holds one code for each of `ids`.
    public func checkEntries(ids: [UInt64], codes: [UInt8]) throws {
        guard codes.count == ids.count * codeBytes else {
            throw InvertedListsError.mismatchedCodes(ids: ids.count, codeBytes: codeBytes, found: codes.count)
        }
    }
}

/// One block's entries copied out of storage, with its number in the list: what a write edits
/// before encoding it again. Both implementations plan their writes with these, so they lay
/// blocks out alike.
public struct ListBlock: Equatable {
    public var number: Int
    public var ids: [UInt64]
    public var codes: [UInt8]

    public init(number: Int, ids: [UInt64] = [], codes: [UInt8] = []) {
        self.number = number
        self.ids = ids
        self.codes = codes
    }

    /// Copies `block`, block number `number` of its list.
    public init(_ block: IVFBlock, number: Int, codeBytes: Int) {
        self.number = number
        ids = (0..<block.count).map(block.id(at:))
        codes = [UInt8](UnsafeRawBufferPointer(start: block.codes, count: block.count * codeBytes))
    }

    /// The block's stored bytes.
    public func encoded(codeBytes: Int) -> [UInt8] { IVFBlock.encode(ids: ids, codes: codes, codeBytes: codeBytes) }

    /// The blocks that appending `ids` (and `codes`) to a list writes: its last block `tail`
    /// (nil for an empty list) filled up to `capacity`, then new blocks numbered after it.
    public static func appending(
        ids: [UInt64], codes: [UInt8], to tail: ListBlock?, capacity: Int, codeBytes: Int
    ) -> [ListBlock] {
        var written: [ListBlock] = []
        var current = tail ?? ListBlock(number: 0)
        var next = 0
        while next < ids.count {
            if current.ids.count >= capacity {
                current = ListBlock(number: current.number + 1)
            }
            let take = min(capacity - current.ids.count, ids.count - next)
            current.ids.append(contentsOf: ids[next..<next + take])
            current.codes.append(contentsOf: codes[next * codeBytes..<(next + take) * codeBytes])
            next += take
            if written.last?.number == current.number { written.removeLast() }
            written.append(current)
        }
        return written
    }

    /// The blocks that removing entry `slot` of `holder` writes, where `tail` is the list's last
    /// block (equal to `holder` when the entry is in it): the tail's last entry moves into the
    /// slot. A block left empty (only ever the tail) comes back with no ids: delete it.
    public static func removing(slot: Int, of holder: ListBlock, tail: ListBlock, codeBytes: Int) -> [ListBlock] {
        var tail = tail
        let lastID = tail.ids.removeLast()
        let lastCode = Array(tail.codes.suffix(codeBytes))
        tail.codes.removeLast(codeBytes)
        guard holder.number != tail.number else {
            if slot < tail.ids.count {
                tail.ids[slot] = lastID
                tail.codes.replaceSubrange(slot * codeBytes..<(slot + 1) * codeBytes, with: lastCode)
            }
            return [tail]
        }
        var holder = holder
        holder.ids[slot] = lastID
        holder.codes.replaceSubrange(slot * codeBytes..<(slot + 1) * codeBytes, with: lastCode)
        return [holder, tail]
    }
}
