import Foundation
import QuarryIndex
import Testing

@Suite struct InMemoryInvertedListsTests {
    /// Codes of one byte-pattern word each: entry `id`'s code is eight bytes of `id`.
    static func codes(_ ids: [UInt64]) -> [UInt8] {
        ids.flatMap { id in (0..<8).map { UInt8(truncatingIfNeeded: id) &+ $0 } }
    }

    func lists(_ listCount: Int = 2, capacity: Int = 3) -> InMemoryInvertedLists {
        InMemoryInvertedLists(listCount: listCount, codeBytes: 8, blockCapacity: capacity)
    }

    func blockSizes(_ lists: InMemoryInvertedLists, _ list: Int) throws -> [Int] {
        var sizes: [Int] = []
        try lists.forEachBlock(ofList: list) { sizes.append($0.count) }
        return sizes
    }

    @Test func appendsFillTheLastBlockBeforeStartingAnother() throws {
        let lists = lists()
        try lists.append(toList: 0, ids: [1, 2], codes: Self.codes([1, 2]))
        #expect(try blockSizes(lists, 0) == [2])
        try lists.append(toList: 0, ids: [3, 4, 5, 6, 7], codes: Self.codes([3, 4, 5, 6, 7]))
        #expect(try blockSizes(lists, 0) == [3, 3, 1])
        #expect(try lists.entries(ofList: 0).ids == [1, 2, 3, 4, 5, 6, 7])
        #expect(try lists.entries(ofList: 0).codes == Self.codes([1, 2, 3, 4, 5, 6, 7]))
        #expect(try lists.listSize(0) == 7 && lists.listSize(1) == 0)
    }

    @Test func removalMovesTheLastEntryIntoTheSlot() throws {
        let lists = lists()
        let ids: [UInt64] = [1, 2, 3, 4, 5, 6, 7]
        try lists.append(toList: 0, ids: ids, codes: Self.codes(ids))
        #expect(try lists.remove(id: 1, fromList: 0))  // the first: 7 moves in, the last block empties
        #expect(try lists.entries(ofList: 0).ids == [7, 2, 3, 4, 5, 6])
        #expect(try blockSizes(lists, 0) == [3, 3])
        #expect(try lists.remove(id: 4, fromList: 0))  // the middle block's first
        #expect(try lists.entries(ofList: 0).ids == [7, 2, 3, 6, 5])
        #expect(try lists.remove(id: 5, fromList: 0))  // the last
        #expect(try lists.entries(ofList: 0).ids == [7, 2, 3, 6])
        #expect(try lists.entries(ofList: 0).codes == Self.codes([7, 2, 3, 6]))
        #expect(try !lists.remove(id: 5, fromList: 0))
        #expect(try !lists.remove(id: 7, fromList: 1))
        for id: UInt64 in [2, 7, 6, 3] { #expect(try lists.remove(id: id, fromList: 0)) }
        #expect(try lists.listSize(0) == 0 && blockSizes(lists, 0).isEmpty)
    }

    @Test func replaceAndAddListsReshapeTheLists() throws {
        let lists = lists()
        try lists.append(toList: 1, ids: [1, 2, 3, 4], codes: Self.codes([1, 2, 3, 4]))
        try lists.replace(list: 1, ids: [9], codes: Self.codes([9]))
        #expect(try lists.entries(ofList: 1).ids == [9] && blockSizes(lists, 1) == [1])
        #expect(try lists.addLists(2) == 2..<4)
        #expect(lists.listCount == 4)
        try lists.append(toList: 3, ids: [5], codes: Self.codes([5]))
        #expect(try lists.entries(ofList: 3).ids == [5])
        try lists.replace(list: 1, ids: [], codes: [])
        #expect(try lists.listSize(1) == 0)
    }

    @Test func badCallsAreRefused() throws {
        let lists = lists()
        #expect(throws: InvertedListsError.noSuchList(5, listCount: 2)) {
            try lists.append(toList: 5, ids: [1], codes: Self.codes([1]))
        }
        #expect(throws: InvertedListsError.mismatchedCodes(ids: 1, codeBytes: 8, found: 3)) {
            try lists.replace(list: 0, ids: [1], codes: [1, 2, 3])
        }
        #expect(throws: InvertedListsError.noSuchList(-1, listCount: 2)) { _ = try lists.remove(id: 1, fromList: -1) }
        #expect(throws: InvertedListsError.self) { _ = try lists.addLists(-1) }
        #expect(InvertedListsError.noSuchList(5, listCount: 2).kind == .invalidArgument)
    }

    /// An index whose lists hold several small blocks, a third of its vectors then removed from
    /// their lists and a few appended again: probing every list and rescoring every candidate
    /// finds the brute-force neighbours among the vectors the lists hold.
    @Test func searchOverEditedListsEqualsBruteForce() throws {
        let fixture = SmallIndex(blockCapacity: 7)
        let index = fixture.index
        var removed = Set<UInt64>()
        var removedCodes: [UInt64: [UInt8]] = [:]
        let codeBytes = index.codeBytes
        for list in 0..<index.listCount {
            let entries = try index.lists.entries(ofList: list)
            for (slot, id) in entries.ids.enumerated() where id % 3 == 0 {
                #expect(try index.lists.remove(id: id, fromList: list))
                removed.insert(id)
                removedCodes[id] = Array(entries.codes[slot * codeBytes..<(slot + 1) * codeBytes])
            }
        }
        // Back into a list of their own choosing, ids 0 and 3: found wherever they are.
        let readded: [UInt64] = [0, 3]
        let readdedCodes = readded.flatMap { removedCodes[$0]! }
        try index.lists.append(toList: 0, ids: readded, codes: readdedCodes)
        removed.subtract(readded)
        #expect(
            (0..<index.listCount).reduce(0) { $0 + ((try? index.listSize($1)) ?? 0) } == fixture.count - removed.count)
        let searcher = IVFSearcher(centroids: index.centroids, dimension: fixture.dimension)
        let parameters = SearchParameters(k: 10, nprobe: index.listCount, oversample: Double(fixture.count))
        for q in 0..<5 {
            let found = try searcher.search(PreparedQuery(int8: fixture.query(q)), parameters: parameters, in: index)
            let expected = fixture.bruteForce(q, k: fixture.count).filter { !removed.contains($0.id) }.prefix(10)
            #expect(found.map(\.id) == expected.map(\.id))
        }
    }
}
