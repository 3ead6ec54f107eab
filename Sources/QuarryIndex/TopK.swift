/// One search result: an internal id and its cosine similarity to the query.
public struct ScoredID: Sendable, Equatable, BitwiseCopyable {
    public var id: UInt64
    public var score: Float
    public init(id: UInt64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// The `k` best results, best first (ties: lower id first).
public func topK(_ results: [ScoredID], _ k: Int) -> [ScoredID] {
    var sorted = results
    return sorted.withUnsafeMutableBufferPointer { topK($0, k) }
}

/// The `k` best of `results`, best first (ties: lower id first), reordering `results`.
func topK(_ results: UnsafeMutableBufferPointer<ScoredID>, _ k: Int) -> [ScoredID] {
    let take = min(k, results.count)
    // Closures rather than key paths: key paths are not inlined into the comparisons.
    partialSortDescending(results, take: take, by: { $0.score }, tieBreak: { $0.id })
    return Array(results.prefix(take))
}

/// Reorders `buffer` so its first `take` elements are the largest by `key`, in descending order.
func partialSortDescending<T>(
    _ buffer: UnsafeMutableBufferPointer<T>, take: Int, key: (T) -> Float
) {
    partialSortDescending(buffer, take: take, by: key, tieBreak: { _ in 0 as UInt64 })
}

func partialSortDescending<T>(
    _ buffer: UnsafeMutableBufferPointer<T>, take: Int, by key: (T) -> Float, tieBreak: (T) -> UInt64
) {
    guard take > 0, buffer.count > 1 else { return }
    func better(_ a: T, _ b: T) -> Bool {
        let ka = key(a)
        let kb = key(b)
        return ka != kb ? ka > kb : tieBreak(a) < tieBreak(b)
    }
    if take < buffer.count {
        // Quickselect so the best `take` come first, then sort just those.
        var low = 0
        var high = buffer.count - 1
        let target = take - 1
        while low < high {
            let pivot = buffer[(low + high) / 2]
            var i = low
            var j = high
            while i <= j {
                while better(buffer[i], pivot) { i += 1 }
                while better(pivot, buffer[j]) { j -= 1 }
                if i <= j {
                    buffer.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if target <= j { high = j } else if target >= i { low = i } else { break }
        }
    }
    var head = UnsafeMutableBufferPointer(rebasing: buffer[0..<take])
    head.sort(by: better)
}

/// A bounded min-heap that keeps the `capacity` best results seen.
public struct TopKHeap {
    public let capacity: Int
    private var items: [ScoredID] = []

    public init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(capacity)
    }

    /// The worst score kept, once full; candidates not better than it cannot enter.
    public var threshold: Float { items.count < capacity ? -.infinity : items[0].score }

    @inline(__always) private static func worse(_ a: ScoredID, _ b: ScoredID) -> Bool {
        a.score != b.score ? a.score < b.score : a.id > b.id
    }

    /// Offers a result.
    public mutating func insert(_ item: ScoredID) {
        guard capacity > 0 else { return }
        if items.count < capacity {
            items.append(item)
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.worse(items[child], items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        } else if Self.worse(items[0], item) {
            items[0] = item
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < items.count else { break }
                var worst = left
                if left + 1 < items.count, Self.worse(items[left + 1], items[left]) { worst = left + 1 }
                guard Self.worse(items[worst], items[parent]) else { break }
                items.swapAt(worst, parent)
                parent = worst
            }
        }
    }

    /// The kept results, best first.
    public func sortedDescending() -> [ScoredID] {
        items.sorted { Self.worse($1, $0) }
    }
}
