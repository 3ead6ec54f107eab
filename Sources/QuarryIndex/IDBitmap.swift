/// A dense set of internal ids in 0..<count, one bit each in 64-bit words.
public struct IDBitmap: Sendable, Equatable {
    /// The ids it can hold are 0..<count.
    public let count: Int
    private var words: [UInt64]

    /// An empty bitmap over 0..<count, or a full one when `allSet`.
    public init(count: Int, allSet: Bool = false) {
        precondition(count >= 0, "a bitmap's count is not negative")
        self.count = count
        words = [UInt64](repeating: allSet ? ~0 : 0, count: (count + 63) / 64)
        if allSet { clearTail() }
    }

    /// Adds `id`.
    public mutating func insert(_ id: Int) {
        precondition(id >= 0 && id < count, "id \(id) outside 0..<\(count)")
        words[id >> 6] |= 1 << UInt64(id & 63)
    }

    /// Removes `id`.
    public mutating func remove(_ id: Int) {
        precondition(id >= 0 && id < count, "id \(id) outside 0..<\(count)")
        words[id >> 6] &= ~(1 << UInt64(id & 63))
    }

    /// Whether `id` is in the set; ids outside 0..<count are not.
    public func contains(_ id: Int) -> Bool {
        guard id >= 0 && id < count else { return false }
        return words[id >> 6] & (1 << UInt64(id & 63)) != 0
    }

    /// How many ids are in the set.
    public var cardinality: Int {
        var total = 0
        for word in words { total &+= word.nonzeroBitCount }
        return total
    }

    /// Whether no id is in the set.
    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// Adds every id of `other` (over the same count).
    public mutating func formUnion(_ other: IDBitmap) {
        precondition(other.count == count, "bitmaps over different counts")
        other.words.withUnsafeBufferPointer { source in
            words.withUnsafeMutableBufferPointer { target in
                for index in target.indices { target[index] |= source[index] }
            }
        }
    }

    /// Keeps only the ids also in `other` (over the same count).
    public mutating func formIntersection(_ other: IDBitmap) {
        precondition(other.count == count, "bitmaps over different counts")
        other.words.withUnsafeBufferPointer { source in
            words.withUnsafeMutableBufferPointer { target in
                for index in target.indices { target[index] &= source[index] }
            }
        }
    }

    /// Removes every id of `other` (over the same count).
    public mutating func subtract(_ other: IDBitmap) {
        precondition(other.count == count, "bitmaps over different counts")
        other.words.withUnsafeBufferPointer { source in
            words.withUnsafeMutableBufferPointer { target in
                for index in target.indices { target[index] &= ~source[index] }
            }
        }
    }

    /// Calls `body` with every id in the set, ascending.
    public func forEachID(_ body: (Int) throws -> Void) rethrows {
        for (index, word) in words.enumerated() {
            var rest = word
            while rest != 0 {
                try body(index << 6 | rest.trailingZeroBitCount)
                rest &= rest &- 1
            }
        }
    }

    /// ORs in a stored dense chunk: little-endian 64-bit words whose bit i stands for id
    /// `firstID + i`. `firstID` is a multiple of 64; bits past `count` are ignored.
    public mutating func formUnion(words chunk: UnsafeRawBufferPointer, atID firstID: Int) {
        precondition(firstID >= 0 && firstID % 64 == 0, "a chunk starts at a multiple of 64")
        precondition(chunk.count % 8 == 0, "a chunk is whole 64-bit words")
        let firstWord = firstID >> 6
        let wordCount = min(chunk.count / 8, max(0, words.count - firstWord))
        guard wordCount > 0 else { return }
        words.withUnsafeMutableBufferPointer { target in
            for index in 0..<wordCount {
                let stored = chunk.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)
                target[firstWord + index] |= UInt64(littleEndian: stored)
            }
        }
        clearTail()
    }

    /// Adds `base + offset` for each offset of a stored sparse chunk; offsets past `count` are
    /// ignored.
    public mutating func insert(sortedOffsets offsets: UnsafeBufferPointer<UInt16>, base: Int) {
        precondition(base >= 0, "a chunk's base is not negative")
        let limit = count
        words.withUnsafeMutableBufferPointer { target in
            for offset in offsets {
                let id = base + Int(offset)
                guard id < limit else { break }
                target[id >> 6] |= 1 << UInt64(id & 63)
            }
        }
    }

    /// Calls `body` with the words: bit `id & 63` of word `id >> 6` is `id`.
    public func withUnsafeWords<Result>(_ body: (UnsafeBufferPointer<UInt64>) throws -> Result) rethrows -> Result {
        try words.withUnsafeBufferPointer(body)
    }

    /// Clears the bits of the last word that stand for ids at or past `count`.
    private mutating func clearTail() {
        let used = count & 63
        if used != 0 { words[words.count - 1] &= (1 << UInt64(used)) - 1 }
    }
}
