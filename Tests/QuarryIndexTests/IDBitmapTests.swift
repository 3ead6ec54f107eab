import Testing

@testable import QuarryIndex

@Suite struct IDBitmapTests {
    func bitmap(_ ids: Set<Int>, count: Int) -> IDBitmap {
        var result = IDBitmap(count: count)
        for id in ids { result.insert(id) }
        return result
    }

    func ids(_ bitmap: IDBitmap) -> [Int] {
        var result: [Int] = []
        bitmap.forEachID { result.append($0) }
        return result
    }

    @Test func setOperationsAgreeWithSet() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 63, 64, 65, 200, 1_000] {
            for _ in 0..<20 {
                let a = Set((0..<count).filter { _ in Bool.random(using: &generator) })
                let b = Set((0..<count).filter { _ in Int.random(in: 0..<4, using: &generator) == 0 })
                let left = bitmap(a, count: count)
                let right = bitmap(b, count: count)
                #expect(ids(left) == a.sorted())
                #expect(left.cardinality == a.count)
                #expect(left.isEmpty == a.isEmpty)
                var union = left
                union.formUnion(right)
                #expect(ids(union) == a.union(b).sorted())
                var intersection = left
                intersection.formIntersection(right)
                #expect(ids(intersection) == a.intersection(b).sorted())
                var difference = left
                difference.subtract(right)
                #expect(ids(difference) == a.subtracting(b).sorted())
                for id in -1...count { #expect(left.contains(id) == a.contains(id)) }
                var removed = left
                if let first = a.first {
                    removed.remove(first)
                    #expect(ids(removed) == a.subtracting([first]).sorted())
                }
            }
        }
    }

    @Test func fullBitmapStopsAtCount() {
        let full = IDBitmap(count: 130, allSet: true)
        #expect(full.cardinality == 130)
        #expect(ids(full) == Array(0..<130))
        #expect(!full.contains(130))
    }

    @Test func storedDenseChunkIsLittleEndianWords() {
        let count = 65_536 + 100
        var words = [UInt64](repeating: 0, count: 8_192)
        let chosen: Set<Int> = [0, 1, 63, 64, 99, 100, 4_095, 65_535]
        for offset in chosen { words[offset >> 6] |= 1 << UInt64(offset & 63) }
        let bytes = words.map(\.littleEndian).withUnsafeBytes { [UInt8]($0) }
        var first = IDBitmap(count: count)
        bytes.withUnsafeBytes { first.formUnion(words: $0, atID: 0) }
        #expect(ids(first) == chosen.sorted())
        var second = IDBitmap(count: count)
        second.insert(5)
        bytes.withUnsafeBytes { second.formUnion(words: $0, atID: 65_536) }
        #expect(ids(second) == [5] + chosen.filter { $0 < 100 }.sorted().map { $0 + 65_536 })
        #expect(second.cardinality == 1 + chosen.filter { $0 < 100 }.count)
    }

    @Test func storedSparseChunk() {
        var bitmap = IDBitmap(count: 65_536 + 300)
        let offsets: [UInt16] = [0, 7, 64, 299, 300, 65_535]
        offsets.withUnsafeBufferPointer { bitmap.insert(sortedOffsets: $0, base: 65_536) }
        #expect(ids(bitmap) == [65_536, 65_543, 65_600, 65_835])
        offsets.withUnsafeBufferPointer { bitmap.insert(sortedOffsets: $0, base: 0) }
        #expect(bitmap.cardinality == 10)
        #expect(bitmap.contains(65_535))
    }

    @Test func wordsExposeBits() {
        let bitmap = bitmap([3, 64, 129], count: 130)
        bitmap.withUnsafeWords { words in
            #expect(words.count == 3)
            #expect(words[0] == 1 << 3)
            #expect(words[1] == 1)
            #expect(words[2] == 1 << 1)
        }
    }
}
