/// The byte-level BPE merge step: splits a pre-token into single bytes, then repeatedly merges
/// the adjacent pair with the lowest merge rank (the leftmost one on a tie) until no adjacent
/// pair has a merge. This is both tiktoken's and Hugging Face's BPE.
struct BytePairMerger: Sendable {
    /// A merge rule: `left` followed by `right` becomes `merged`.
    struct Merge: Sendable, Equatable {
        var left: Int32
        var right: Int32
        var merged: Int32
    }

    /// Pieces with more bytes than this merge with a priority queue (O(n log n)) instead of
    /// rescanning every pair after each merge (O(n²), faster for short pieces).
    static let largePieceThreshold = 64

    /// Token id of each single byte value.
    let byteTokens: [Int32]
    private var pairs: PairTable

    /// `merges` are in rank order: the first has the highest priority.
    init(byteTokens: [Int32], merges: [Merge]) {
        self.init(byteTokens: byteTokens, expectedMergeCount: merges.count)
        for (rank, merge) in merges.enumerated() { addMerge(merge, rank: UInt32(rank)) }
    }

    /// A merger with no merges yet; add them with `addMerge(_:rank:)`.
    init(byteTokens: [Int32], expectedMergeCount: Int) {
        precondition(byteTokens.count == 256, "a byte-level vocabulary has one token per byte")
        self.byteTokens = byteTokens
        self.pairs = PairTable(minimumCapacity: expectedMergeCount)
    }

    /// Adds a merge rule; lower ranks merge first. A pair that already has a merge keeps it.
    mutating func addMerge(_ merge: Merge, rank: UInt32) {
        pairs.insert(PairTable.key(merge.left, merge.right), rank: rank, merged: merge.merged)
    }

    /// Rank and result of merging `left` with `right`, packed as `rank << 32 | merged`, or
    /// `PairTable.noMerge`.
    @inline(__always)
    private func packedMerge(_ left: Int32, _ right: Int32) -> UInt64 {
        pairs.lookup(PairTable.key(left, right))
    }

    /// Appends the BPE tokens of `bytes` to `output`.
    func merge(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        switch bytes.count {
        case 0:
            return
        case 1:
            output.append(byteTokens[Int(bytes[0])])
        case ...Self.largePieceThreshold:
            mergeByScanning(bytes, into: &output)
        default:
            mergeWithQueue(bytes, into: &output)
        }
    }

    /// The O(n²) merge loop over a compacting array; fastest for short pieces.
    func mergeByScanning(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let count = bytes.count
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: count) { ids in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: count) { pairMerges in
                for index in 0..<count { ids[index] = byteTokens[Int(bytes[index])] }
                for index in 0..<count - 1 { pairMerges[index] = packedMerge(ids[index], ids[index + 1]) }
                var length = count
                while length > 1 {
                    var best = PairTable.noMerge
                    var bestIndex = 0
                    for index in 0..<length - 1 where pairMerges[index] < best {
                        best = pairMerges[index]
                        bestIndex = index
                    }
                    if best == PairTable.noMerge { break }
                    ids[bestIndex] = Int32(truncatingIfNeeded: best)
                    // Remove the right half of the merged pair.
                    for index in bestIndex + 1..<length - 1 {
                        ids[index] = ids[index + 1]
                        pairMerges[index] = pairMerges[index + 1]
                    }
                    length -= 1
                    if bestIndex > 0 {
                        pairMerges[bestIndex - 1] = packedMerge(ids[bestIndex - 1], ids[bestIndex])
                    }
                    if bestIndex < length - 1 {
                        pairMerges[bestIndex] = packedMerge(ids[bestIndex], ids[bestIndex + 1])
                    }
                }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: ids[0..<length]))
            }
        }
    }

    /// The O(n log n) merge loop: a linked list of parts and a min-heap of candidate pairs
    /// keyed by `rank << 32 | position`, so ties go to the leftmost pair. Stale heap entries
    /// are recognised by comparing their rank with the pair now at their position.
    func mergeWithQueue(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let count = bytes.count
        var ids = bytes.map { byteTokens[Int($0)] }
        var next = Array(1...count)  // `count` marks the end
        var previous = Array(-1..<(count - 1))
        var pairMerges = [UInt64](repeating: PairTable.noMerge, count: count)
        var heap = MinHeap()
        heap.reserveCapacity(count)
        for index in 0..<count - 1 {
            pairMerges[index] = packedMerge(ids[index], ids[index + 1])
            if pairMerges[index] != PairTable.noMerge {
                heap.push(pairMerges[index] & 0xFFFF_FFFF_0000_0000 | UInt64(index))
            }
        }
        while let entry = heap.popMin() {
            let position = Int(entry & 0xFFFF_FFFF)
            let pair = pairMerges[position]
            guard pair != PairTable.noMerge, pair >> 32 == entry >> 32 else { continue }
            let right = next[position]
            ids[position] = Int32(truncatingIfNeeded: pair)
            next[position] = next[right]
            if next[right] < count { previous[next[right]] = position }
            pairMerges[right] = PairTable.noMerge
            pairMerges[position] =
                next[position] < count ? packedMerge(ids[position], ids[next[position]]) : PairTable.noMerge
            if pairMerges[position] != PairTable.noMerge {
                heap.push(pairMerges[position] & 0xFFFF_FFFF_0000_0000 | UInt64(position))
            }
            let left = previous[position]
            if left >= 0 {
                pairMerges[left] = packedMerge(ids[left], ids[position])
                if pairMerges[left] != PairTable.noMerge {
                    heap.push(pairMerges[left] & 0xFFFF_FFFF_0000_0000 | UInt64(left))
                }
            }
        }
        var position = 0
        while position < count {
            output.append(ids[position])
            position = next[position]
        }
    }
}

/// Open-addressing hash map from a token pair (`left << 32 | right`) to its packed merge
/// (`rank << 32 | merged`).
private struct PairTable: Sendable {
    static let noMerge = UInt64.max
    private static let emptyKey = UInt64.max

    private var keys: [UInt64]
    private var values: [UInt64]
    private var shift: UInt64
    private var count = 0

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    init(minimumCapacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < minimumCapacity * 2 { bits += 1 }
        keys = [UInt64](repeating: Self.emptyKey, count: 1 << Int(bits))
        values = [UInt64](repeating: Self.noMerge, count: 1 << Int(bits))
        shift = 64 - bits
    }

    /// Stores the merge of the pair `key` unless the pair already has one.
    mutating func insert(_ key: UInt64, rank: UInt32, merged: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var index = Self.slot(key, shift)
        while keys[index] != Self.emptyKey {
            if keys[index] == key { return }
            index = (index + 1) & mask
        }
        keys[index] = key
        values[index] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))
        count += 1
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        self = PairTable(minimumCapacity: oldKeys.count)
        for (key, value) in zip(oldKeys, oldValues) where key != Self.emptyKey {
            insert(key, rank: UInt32(value >> 32), merged: Int32(truncatingIfNeeded: value))
        }
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    func lookup(_ key: UInt64) -> UInt64 {
        keys.withUnsafeBufferPointer { keys in
            let mask = keys.count - 1
            var index = Self.slot(key, shift)
            while true {
                let candidate = keys[index]
                if candidate == key { return values[index] }
                if candidate == Self.emptyKey { return Self.noMerge }
                index = (index + 1) & mask
            }
        }
    }
}

/// A binary min-heap of `UInt64` keys.
private struct MinHeap {
    private var storage: [UInt64] = []

    mutating func reserveCapacity(_ capacity: Int) { storage.reserveCapacity(capacity) }

    mutating func push(_ value: UInt64) {
        storage.append(value)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if storage[parent] <= storage[child] { break }
            storage.swapAt(parent, child)
            child = parent
        }
    }

    mutating func popMin() -> UInt64? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        let minimum = storage[0]
        storage[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= storage.count { break }
            let right = left + 1
            let smaller = right < storage.count && storage[right] < storage[left] ? right : left
            if storage[parent] <= storage[smaller] { break }
            storage.swapAt(parent, smaller)
            parent = smaller
        }
        return minimum
    }
}
