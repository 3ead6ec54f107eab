import Foundation
import QuarryIndex
import QuarryStore
import Testing

@testable import Quarry

/// One write to posting lists, as the randomized sequence below makes them.
enum ListOperation {
    case append(list: Int, ids: [UInt64])
    case remove(list: Int, id: UInt64)
    case replace(list: Int, ids: [UInt64])
    case addLists(Int)
}

/// The model the implementations are held to: list → id → code, a plain dictionary.
struct ListModel {
    var lists: [Int: [UInt64: [UInt8]]]
    init(listCount: Int) { lists = Dictionary(uniqueKeysWithValues: (0..<listCount).map { ($0, [:]) }) }
}

/// The code stored with `id`: eight bytes that depend on the id alone.
func code(of id: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: id &* 0x9E37_79B9)
    return withUnsafeBytes(of: generator.next()) { Array($0) }
}

func codes(of ids: [UInt64]) -> [UInt8] { ids.flatMap(code(of:)) }

/// A fixed-seed sequence of writes over lists of up to a few blocks of `capacity` entries:
/// appends of 0 to 2.5 blocks (across block boundaries), removals of a list's first, middle,
/// last or a random entry, lists removed until empty, absent ids, replacements and new lists.
func randomOperations(count: Int, listCount: Int, capacity: Int, seed: UInt64) -> [ListOperation] {
    var generator = SplitMix64(seed: seed)
    var order = [[UInt64]](repeating: [], count: listCount)  // membership, for choosing ids
    var nextID: UInt64 = 1
    var operations: [ListOperation] = []
    func fresh(_ n: Int) -> [UInt64] {
        defer { nextID += UInt64(n) }
        return (0..<UInt64(n)).map { nextID + $0 }
    }
    func apply(_ operation: ListOperation) {
        operations.append(operation)
        switch operation {
        case .append(let list, let ids): order[list] += ids
        case .remove(let list, let id): order[list].removeAll { $0 == id }
        case .replace(let list, let ids): order[list] = ids
        case .addLists(let n): order += repeatElement([], count: n)
        }
    }
    while operations.count < count {
        let list = Int(generator.next() % UInt64(order.count))
        switch generator.next() % 100 {
        case 0..<40:
            apply(.append(list: list, ids: fresh(Int(generator.next() % UInt64(capacity * 5 / 2 + 1)))))
        case 40..<75 where !order[list].isEmpty:
            let members = order[list]
            let position =
                switch generator.next() % 4 {
                case 0: 0
                case 1: members.count / 2
                case 2: members.count - 1
                default: Int(generator.next() % UInt64(members.count))
                }
            apply(.remove(list: list, id: members[position]))
        case 75..<80:
            for id in order[list].shuffled(using: &generator) { apply(.remove(list: list, id: id)) }
        case 80..<85:
            apply(.remove(list: list, id: nextID + 1_000_000))  // an id no list holds
        case 85..<92:
            apply(.replace(list: list, ids: fresh(Int(generator.next() % UInt64(capacity * 2 + 1)))))
        case 92..<94:
            apply(.addLists(1 + Int(generator.next() % 2)))
        default:
            apply(.append(list: list, ids: fresh(capacity - order[list].count % capacity)))  // to a block's end
        }
    }
    return operations
}

extension ListModel {
    /// Applies `operation`; returns whether a removal found its id.
    @discardableResult
    mutating func apply(_ operation: ListOperation) -> Bool {
        switch operation {
        case .append(let list, let ids):
            for id in ids { lists[list]![id] = code(of: id) }
        case .remove(let list, let id):
            return lists[list]!.removeValue(forKey: id) != nil
        case .replace(let list, let ids):
            lists[list] = Dictionary(uniqueKeysWithValues: ids.map { ($0, code(of: $0)) })
        case .addLists(let n):
            let first = lists.count
            for list in first..<first + n { lists[list] = [:] }
        }
        return true
    }
}

extension MutableInvertedLists {
    /// Applies `operation`; returns whether a removal found its id.
    @discardableResult
    mutating func apply(_ operation: ListOperation) throws -> Bool {
        switch operation {
        case .append(let list, let ids): try append(toList: list, ids: ids, codes: codes(of: ids))
        case .remove(let list, let id): return try remove(id: id, fromList: list)
        case .replace(let list, let ids): try replace(list: list, ids: ids, codes: codes(of: ids))
        case .addLists(let n): _ = try addLists(n)
        }
        return true
    }
}

/// Every list's entries in order, and the entry counts of its blocks.
func contents(of lists: some InvertedLists) throws -> [(ids: [UInt64], codes: [UInt8], blocks: [Int])] {
    try (0..<lists.listCount).map { list in
        var blocks: [Int] = []
        try lists.forEachBlock(ofList: list) { blocks.append($0.count) }
        let entries = try lists.entries(ofList: list)
        return (entries.ids, entries.codes, blocks)
    }
}

@Suite struct InvertedListsTests {
    let temporary = TemporaryDirectory()
    static let dimension = 64  // codes of 8 bytes
    static let capacity = 4

    func lmdbLists<T: LMDBReadTransaction>(
        _ txn: T, database: LMDBDatabase, listCount: Int
    ) -> LMDBInvertedLists<T> {
        LMDBInvertedLists(
            txn: txn, database: database, listCount: listCount, dimension: Self.dimension,
            blockCapacity: Self.capacity, path: temporary.path)
    }

    /// The same writes, a few to a transaction, to the LMDB lists, the in-memory lists and the
    /// dictionary model: after every transaction both implementations hold the same entries in
    /// the same order in the same blocks, every block but a list's last is full and none is
    /// empty, and the entries (ids with their codes) are the model's.
    @Test(arguments: [UInt64(1), 2, 3])
    func lmdbAndInMemoryListsAgreeWithTheModel(seed: UInt64) throws {
        let environment = try LMDBEnvironment(directory: temporary.path, options: .init(create: true))
        let database = try environment.openDatabase("lists", create: true)
        let initialLists = 3
        let memory = InMemoryInvertedLists(
            listCount: initialLists, codeBytes: IVFLayout.codeBytes(dimension: Self.dimension),
            blockCapacity: Self.capacity)
        var model = ListModel(listCount: initialLists)
        var listCount = initialLists
        let operations = randomOperations(count: 600, listCount: initialLists, capacity: Self.capacity, seed: seed)
        var removalsFound = 0
        var removalsMissed = 0
        for start in stride(from: 0, to: operations.count, by: 7) {
            let batch = operations[start..<min(start + 7, operations.count)]
            listCount = try environment.write { txn in
                var lmdb = lmdbLists(txn, database: database, listCount: listCount)
                var inMemory = memory
                for operation in batch {
                    let expected = model.apply(operation)
                    let foundInLMDB = try lmdb.apply(operation)
                    let foundInMemory = try inMemory.apply(operation)
                    #expect(foundInLMDB == expected && foundInMemory == expected)
                    if case .remove = operation {
                        if expected { removalsFound += 1 } else { removalsMissed += 1 }
                    }
                }
                return lmdb.listCount
            }
            try environment.read { txn in
                let stored = try contents(of: lmdbLists(txn, database: database, listCount: listCount))
                let held = try contents(of: memory)
                try #require(stored.count == held.count && held.count == model.lists.count)
                for list in 0..<held.count {
                    #expect(stored[list].ids == held[list].ids)
                    #expect(stored[list].codes == held[list].codes)
                    #expect(stored[list].blocks == held[list].blocks)
                    #expect(held[list].blocks.dropLast().allSatisfy { $0 == Self.capacity })
                    #expect(held[list].blocks.allSatisfy { $0 > 0 && $0 <= Self.capacity })
                    let entries = Dictionary(
                        uniqueKeysWithValues: held[list].ids.enumerated().map { index, id in
                            (id, Array(held[list].codes[index * 8..<(index + 1) * 8]))
                        })
                    #expect(held[list].ids.count == entries.count)  // no id twice
                    #expect(entries == model.lists[list])
                    #expect(try memory.listSize(list) == model.lists[list]!.count)
                }
            }
        }
        // The sequence exercised what it is meant to.
        #expect(removalsFound > 100 && removalsMissed > 10)
        #expect(listCount > initialLists)
        // No block outlives its list's entries: the database holds exactly the blocks listed.
        let keys = try environment.read { try $0.entryCount(database) }
        #expect(keys == (try contents(of: memory)).reduce(0) { $0 + $1.blocks.count })
    }

    @Test func listsRefuseOutOfRangeListsAndMismatchedCodes() throws {
        let environment = try LMDBEnvironment(directory: temporary.path, options: .init(create: true))
        let database = try environment.openDatabase("lists", create: true)
        try environment.write { txn in
            let lists = lmdbLists(txn, database: database, listCount: 2)
            #expect(throws: InvertedListsError.noSuchList(2, listCount: 2)) {
                try lists.append(toList: 2, ids: [1], codes: code(of: 1))
            }
            #expect(throws: InvertedListsError.noSuchList(-1, listCount: 2)) { _ = try lists.listSize(-1) }
            #expect(throws: InvertedListsError.mismatchedCodes(ids: 2, codeBytes: 8, found: 8)) {
                try lists.append(toList: 0, ids: [1, 2], codes: code(of: 1))
            }
            let size = try lists.listSize(0)
            #expect(size == 0)
        }
    }

    @Test func aMalformedStoredBlockIsReportedAsCorruption() throws {
        let environment = try LMDBEnvironment(directory: temporary.path, options: .init(create: true))
        let database = try environment.openDatabase("lists", create: true)
        try environment.write { txn in
            try txn.put(database, key: BigEndian.u32u32(0, 0), value: [UInt8](repeating: 7, count: 13))
            let lists = lmdbLists(txn, database: database, listCount: 1)
            let attempts: [() throws -> Void] = [
                { _ = try lists.listSize(0) }, { try lists.append(toList: 0, ids: [1], codes: code(of: 1)) },
                { _ = try lists.remove(id: 1, fromList: 0) },
            ]
            for attempt in attempts {
                let error = #expect(throws: QuarryError.self) { try attempt() }
                #expect(error?.kind == .corrupt)
            }
        }
    }

    /// A collection whose lists span several blocks, searched through the LMDB lists after
    /// replacements and deletions moved entries between blocks: probing every list and
    /// rescoring every candidate returns the brute-force neighbours of what is stored.
    @Test func searchOverTheLMDBListsEqualsBruteForceAfterRemovals() throws {
        let data = try Dataset(in: temporary.path, count: 1500)
        let collection = try QuarryCollection.create(
            at: temporary.path + "/c", dimension: Dataset.dimension, listCount: 3)
        try collection.ingest(vectors: VectorFile(path: data.basePath))
        let deleted = Set(stride(from: 0, to: data.count, by: 3).map(String.init))
        let keys = (0..<data.count).map(String.init)
        #expect(try collection.delete(keys: Array(deleted)).isEmpty)
        let stats = try collection.stats()
        #expect(stats.largestList > 256)  // more than one block
        #expect(stats.listEntries == data.count - deleted.count)
        for q in 0..<5 {
            let query = data.query(q)
            let truth = keys.filter { !deleted.contains($0) }.map { key in
                (key, referenceCosine(query[...], data.row(Int(key)!)[...]))
            }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            let hits = try collection.search(
                collection.prepare(int8: query), k: 10, nprobe: 3, oversample: Double(data.count))
            #expect(hits.map(\.key) == truth.prefix(10).map(\.0))
            for (hit, expected) in zip(hits, truth) { #expect(abs(hit.score - expected.1) < 1e-5) }
        }
    }
}

/// INT8 cosine in plain Swift.
private func referenceCosine(_ a: ArraySlice<Int8>, _ b: ArraySlice<Int8>) -> Float {
    var dot: Int64 = 0
    var na: Int64 = 0
    var nb: Int64 = 0
    for (x, y) in zip(a, b) {
        dot += Int64(x) * Int64(y)
        na += Int64(x) * Int64(x)
        nb += Int64(y) * Int64(y)
    }
    return na == 0 || nb == 0 ? 0 : Float(Double(dot) / (Double(na).squareRoot() * Double(nb).squareRoot()))
}
