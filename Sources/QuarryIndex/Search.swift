import CQuarryKernels
import Foundation
import QuarryBase

/// What a search reads: posting-list blocks and stored vectors. An LMDB read transaction and
/// an in-memory index both provide it; pointers they hand out stay valid for the search.
public protocol IVFStorage {
    /// Calls `body` with each block of posting list `list`.
    func forEachBlock(ofList list: Int, _ body: (IVFBlock) throws -> Void) throws
    /// The stored vector of internal id `id`, or nil when there is none.
    func vector(id: UInt64) throws -> StoredVector?
    /// Where the record of `id` starts (its INT8 values, then the norm), without reading it;
    /// nil when there is none. Lets a search gather many records with prefetching.
    func recordAddress(id: UInt64) throws -> UnsafeRawPointer?
    /// Calls `body` with every stored vector (for exact search); `body` returns false to stop.
    func forEachVector(_ body: (UInt64, StoredVector) throws -> Bool) throws
}

/// One search result: an internal id and its cosine similarity to the query.
public struct ScoredID: Sendable, Equatable {
    public var id: UInt64
    public var score: Float
    public init(id: UInt64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// How the 1-bit prefilter scores a stored code against the query.
public enum Prefilter: String, Sendable, Equatable, CaseIterable, Codable {
    /// The query's INT8 values (rounded to a few bits) against the stored sign bits:
    /// sum of q[d] over the dimensions whose bit is set, which ranks like the dot product of
    /// the query with the sign vector. Costs a few popcounts a word and keeps the query's
    /// magnitudes, so far fewer candidates reach the same recall.
    case asymmetric
    /// Hamming distance between the query's sign bits and the stored ones: one popcount a word.
    case hamming
}

/// Parameters of an approximate search.
public struct SearchParameters: Sendable, Equatable {
    /// Results wanted.
    public var k: Int
    /// Posting lists probed.
    public var nprobe: Int
    /// Candidates kept by the 1-bit prefilter, as a multiple of k.
    public var oversample: Double
    /// How the prefilter scores codes.
    public var prefilter: Prefilter
    /// Threads one search may use: the probed lists and then the candidates are split between
    /// them. Pays at large k (a top-1000 search scans and rescores tens of thousands of codes);
    /// results are identical for any count.
    public var threads: Int
    /// Whether a vector may sit in several lists (redundant assignment), so that candidates
    /// are deduplicated before rescoring.
    public var listsShareVectors: Bool
    public init(
        k: Int, nprobe: Int, oversample: Double, prefilter: Prefilter = .asymmetric, threads: Int = 1,
        listsShareVectors: Bool = false
    ) {
        self.k = k
        self.nprobe = nprobe
        self.oversample = oversample
        self.prefilter = prefilter
        self.threads = max(1, threads)
        self.listsShareVectors = listsShareVectors
    }
    /// Candidates rescored: k × oversample, at least k.
    public var candidateCount: Int { max(k, Int((Double(k) * oversample).rounded(.up))) }
}

/// A query rounded to a few bits a dimension and stored as bit planes, for asymmetric scoring
/// against 1-bit codes (`qk_asymmetric_batch`).
public struct QueryPlanes: Sendable {
    /// The unsigned values u = q' + offset, plane by plane (least significant first), each plane
    /// packed like the codes.
    public let planes: [UInt8]
    public let count: Int
    /// The bias of the unsigned plane values: 2^(count - 1).
    public let offset: Int32
    /// The largest score any code can reach: the sum of the positive q' values. Distances are
    /// this minus the score, in 0...`range`.
    public let maximum: Int32
    /// The sum of |q'|: the span of possible scores.
    public let range: Int32

    /// Rounds `values` to `bits` bits a dimension (q' = round(q / 2^(8 - bits)), clamped).
    public init(_ values: [Int8], bits: Int) {
        precondition((1...8).contains(bits))
        count = bits
        offset = Int32(1 << (bits - 1))
        let codeBytes = IVFLayout.codeBytes(dimension: values.count)
        var planes = [UInt8](repeating: 0, count: bits * codeBytes)
        var maximum: Int32 = 0
        var range: Int32 = 0
        values.withUnsafeBufferPointer { v in
            planes.withUnsafeMutableBufferPointer { out in
                qk_query_planes(v.baseAddress, values.count, Int32(bits), codeBytes, out.baseAddress, &maximum, &range)
            }
        }
        self.planes = planes
        self.maximum = maximum
        self.range = range
    }
}

/// A query prepared for scanning: INT8 values, norm, 1-bit code and bit planes.
public struct PreparedQuery: Sendable {
    public let values: [Int8]
    public let norm: Float
    public let code: [UInt8]
    /// The query at as many bits a dimension as keep every distance within UInt16 for the
    /// counting selection (6 at 1,024 dimensions): the asymmetric prefilter's planes.
    public let asymmetricPlanes: QueryPlanes
    /// Prepares an INT8 query vector.
    public init(int8 values: [Int8]) {
        self.values = values
        var sumOfSquares: Int64 = 0
        for v in values { sumOfSquares += Int64(v) * Int64(v) }
        norm = Float(Double(sumOfSquares).squareRoot())
        var code = [UInt8](repeating: 0, count: IVFLayout.codeBytes(dimension: values.count))
        values.withUnsafeBufferPointer { v in
            code.withUnsafeMutableBufferPointer { qk_pack_signs_i8(v.baseAddress, values.count, $0.baseAddress) }
        }
        self.code = code
        var bits = 8
        while bits > 1 && ((1 << bits) - 1) * values.count > Int(UInt16.max) { bits -= 1 }
        asymmetricPlanes = QueryPlanes(values, bits: bits)
    }
}

/// Codes one scan collected: prefilter distances and ids, in scan order.
final class CandidateBuffer {
    private(set) var distances: [UInt16] = []
    private(set) var ids: [UInt64] = []
    private(set) var count = 0

    func removeAll() { count = 0 }

    /// Scores the codes of `block` against `query` and appends them.
    func append(_ block: IVFBlock, query: PreparedQuery, prefilter: Prefilter, codeBytes: Int) {
        let needed = count + block.count
        if distances.count < needed {
            let capacity = max(needed, distances.count * 2)
            distances.append(contentsOf: repeatElement(0, count: capacity - distances.count))
            ids.append(contentsOf: repeatElement(0, count: capacity - ids.count))
        }
        let codes = block.codes.assumingMemoryBound(to: UInt8.self)
        let start = count
        switch prefilter {
        case .hamming:
            distances.withUnsafeMutableBufferPointer { d in
                query.code.withUnsafeBufferPointer { q in
                    qk_hamming_batch(q.baseAddress, codes, codeBytes, block.count, d.baseAddress! + start)
                }
            }
        case .asymmetric:
            distances.withUnsafeMutableBufferPointer { d in
                query.asymmetricPlanes.planes.withUnsafeBufferPointer { planes in
                    qk_asymmetric_distances_u16(
                        planes.baseAddress, Int32(query.asymmetricPlanes.count), query.asymmetricPlanes.offset,
                        query.asymmetricPlanes.maximum, codes,
                        codeBytes, block.count, d.baseAddress! + start)
                }
            }
        }
        ids.withUnsafeMutableBufferPointer { out in
            UnsafeMutableRawPointer(out.baseAddress! + start).copyMemory(from: block.ids, byteCount: 8 * block.count)
        }
        #if _endian(big)
            for i in start..<needed { ids[i] = UInt64(littleEndian: ids[i]) }
        #endif
        count = needed
    }
}

/// The scratch of one thread of a search: its share of the scan and of the selection.
final class ScanWorker {
    var candidates = CandidateBuffer()
    /// Counts of each prefilter distance among `candidates`.
    var histogram = [UInt32](repeating: 0, count: Int(UInt16.max) + 1)
    var selected: [UInt32] = []
    var selectedCount = 0

    /// Replaces `histogram[0...maximumDistance]` with the counts of the candidates' distances.
    func countDistances(maximumDistance: Int) {
        histogram.withUnsafeMutableBufferPointer { h in
            h.baseAddress!.update(repeating: 0, count: maximumDistance + 1)
            candidates.distances.withUnsafeBufferPointer {
                qk_histogram_u16($0.baseAddress, candidates.count, h.baseAddress)
            }
        }
    }

    /// Keeps the positions of the candidates below `threshold` and of the first `ties` at it.
    func select(below threshold: Int, ties: Int) {
        if selected.count < candidates.count { selected = [UInt32](repeating: 0, count: candidates.count) }
        selectedCount = candidates.distances.withUnsafeBufferPointer { d in
            selected.withUnsafeMutableBufferPointer { out in
                qk_select_below_u16(d.baseAddress, candidates.count, UInt32(threshold), ties, out.baseAddress)
            }
        }
    }
}

/// Searches an IVF index. Holds scratch buffers, so one searcher serves one search at a time;
/// create one per concurrent search.
public final class IVFSearcher {
    public let dimension: Int
    public let listCount: Int
    /// The centroids at INT8 (each row scaled so its largest magnitude is 127) and the factor
    /// that brings each row's dot products back to the float scale: scoring the shortlist then
    /// streams a quarter of the bytes (at 4,000 lists × 1,024 dimensions the float rows are
    /// 16 MB and never stay in cache).
    private let centroidValues: [Int8]
    private let centroidScales: [Float]
    private let codeBytes: Int
    private var workers: [ScanWorker] = [ScanWorker()]
    /// Threads for the parts of a split search (none until one is asked for).
    private var pool = PartPool(width: 1)
    private var blocks: [IVFBlock] = []
    private var batchCandidates: [CandidateBuffer] = []
    private var rescoreIDs: [UInt64] = []
    private var distinctCandidates: [(distance: UInt16, id: UInt64)] = []
    private var rescoreRecords: [UnsafePointer<Int8>?] = []
    private var dots: [Int32] = []
    private var selected: [UInt32] = []
    private var histogram: [UInt32]
    private var listScores: [Float]
    /// The sign bits of every centroid, packed like the codes.
    private let centroidCodes: [UInt8]
    private var listDistances: [UInt16] = []
    private var shortlistRows: [UnsafePointer<Int8>?] = []
    private var shortlistDots: [Int32] = []

    /// - Parameter centroids: listCount × dimension unit-length centroids, row-major.
    public init(centroids: [Float], dimension: Int) {
        precondition(dimension > 0 && centroids.count % dimension == 0)
        self.dimension = dimension
        listCount = centroids.count / dimension
        codeBytes = IVFLayout.codeBytes(dimension: dimension)
        histogram = [UInt32](repeating: 0, count: Int(UInt16.max) + 1)
        listScores = [Float](repeating: 0, count: listCount)
        var values = [Int8](repeating: 0, count: centroids.count)
        var scales = [Float](repeating: 0, count: listCount)
        for list in 0..<listCount {
            let row = centroids[list * dimension..<(list + 1) * dimension]
            let largest = row.reduce(Float(0)) { max($0, abs($1)) }
            guard largest > 0 else { continue }
            for (d, value) in row.enumerated() {
                values[list * dimension + d] = Int8((value * 127 / largest).rounded())
            }
            scales[list] = largest / 127
        }
        centroidValues = values
        centroidScales = scales
        let (lists, bytes) = (listCount, codeBytes)
        var codes = [UInt8](repeating: 0, count: lists * bytes)
        centroids.withUnsafeBufferPointer { c in
            codes.withUnsafeMutableBufferPointer { out in
                for list in 0..<lists {
                    qk_pack_signs_f32(c.baseAddress! + list * dimension, dimension, out.baseAddress! + list * bytes)
                }
            }
        }
        centroidCodes = codes
    }

    /// The `count` lists whose centroids are nearest (by cosine) to `query`, nearest first.
    ///
    /// With many lists, scoring every float centroid would stream megabytes per query (4,000
    /// lists × 1,024 dimensions = 16 MB); instead the Hamming distance between the query's and
    /// the centroids' sign bits picks a shortlist of `shortlistSize(count)`, scored exactly at
    /// INT8. (Scoring the centroids' sign bits with 2-bit query planes instead measured the same
    /// recall at k = 10 and within 0.001 at k = 1000, at twice the cost.)
    public func nearestLists(to query: PreparedQuery, count: Int) -> [Int] {
        let take = min(count, listCount)
        guard take > 0 else { return [] }
        let shortlist = Self.shortlistSize(take)
        var candidates: [Int]
        if shortlist >= listCount {
            candidates = Array(0..<listCount)
        } else {
            if listDistances.count < listCount { listDistances = [UInt16](repeating: 0, count: listCount) }
            listDistances.withUnsafeMutableBufferPointer { out in
                query.code.withUnsafeBufferPointer { q in
                    centroidCodes.withUnsafeBufferPointer { codes in
                        qk_hamming_batch(q.baseAddress, codes.baseAddress, codeBytes, listCount, out.baseAddress)
                    }
                }
            }
            if selected.count < shortlist { selected = [UInt32](repeating: 0, count: shortlist) }
            let chosen = listDistances.withUnsafeBufferPointer { d in
                histogram.withUnsafeMutableBufferPointer { h in
                    selected.withUnsafeMutableBufferPointer { s in
                        qk_select_smallest_u16(
                            d.baseAddress, listCount, shortlist, UInt16(codeBytes * 8), h.baseAddress,
                            s.baseAddress)
                    }
                }
            }
            candidates = selected.prefix(chosen).map { Int($0) }
        }
        // The shortlisted rows are scattered through megabytes of centroids: gather them with
        // prefetching.
        if shortlistDots.count < candidates.count { shortlistDots = [Int32](repeating: 0, count: candidates.count) }
        centroidValues.withUnsafeBufferPointer { c in
            shortlistRows.removeAll(keepingCapacity: true)
            for list in candidates { shortlistRows.append(c.baseAddress! + list * dimension) }
            query.values.withUnsafeBufferPointer { q in
                shortlistDots.withUnsafeMutableBufferPointer { out in
                    qk_dot_i8_gather(q.baseAddress, shortlistRows, candidates.count, dimension, out.baseAddress)
                }
            }
        }
        for (index, list) in candidates.enumerated() {
            listScores[list] = Float(shortlistDots[index]) * centroidScales[list]
        }
        candidates.withUnsafeMutableBufferPointer { o in
            let scores = listScores
            partialSortDescending(o, take: take) { scores[$0] }
        }
        return Array(candidates.prefix(take))
    }

    /// Centroids scored exactly when `count` lists are wanted: enough that the sign-bit
    /// estimate almost never drops one of the true nearest.
    static func shortlistSize(_ count: Int) -> Int { 4 * count + 64 }

    /// Approximate search: probe the `nprobe` nearest lists, keep the candidates nearest by the
    /// 1-bit prefilter, rescore them by INT8 cosine, return the best `k`, best first. With
    /// `parameters.threads` above one, the scan, selection and rescoring are split between
    /// threads (`storage` is only called from the calling thread).
    public func search(_ query: PreparedQuery, parameters: SearchParameters, in storage: some IVFStorage)
        throws -> [ScoredID]
    {
        precondition(query.values.count == dimension)
        // Lists in ascending order: neighbouring keys are neighbouring pages, and every way of
        // running a search (one thread, several, in a batch) sees the candidates in one order.
        blocks.removeAll(keepingCapacity: true)
        for list in nearestLists(to: query, count: parameters.nprobe).sorted() {
            try storage.forEachBlock(ofList: list) { blocks.append($0) }
        }
        let parts = max(1, min(parameters.threads, blocks.count))
        while workers.count < parts { workers.append(ScanWorker()) }
        if pool.width < parts { pool = PartPool(width: parts) }
        let ranges = Self.split(blocks.map(\.count), into: parts)
        let (probedBlocks, scanWorkers, codeBytes) = (blocks, workers, self.codeBytes)
        pool.run(parts) { part in
            let candidates = scanWorkers[part].candidates
            candidates.removeAll()
            for index in ranges[part] {
                candidates.append(
                    probedBlocks[index], query: query, prefilter: parameters.prefilter, codeBytes: codeBytes)
            }
        }
        return try rescoreBest(query, parameters: parameters, parts: parts, in: storage)
    }

    /// Approximate search of many queries at once, on the calling thread: each probed list is
    /// read once for all the queries that probe it. Results equal one `search` per query.
    public func search(
        batch queries: [PreparedQuery], parameters: SearchParameters, in storage: some IVFStorage
    ) throws -> [[ScoredID]] {
        while batchCandidates.count < queries.count { batchCandidates.append(CandidateBuffer()) }
        var probes: [(list: Int, query: Int)] = []
        probes.reserveCapacity(queries.count * parameters.nprobe)
        for (index, query) in queries.enumerated() {
            precondition(query.values.count == dimension)
            batchCandidates[index].removeAll()
            for list in nearestLists(to: query, count: parameters.nprobe) { probes.append((list, index)) }
        }
        probes.sort { $0.list != $1.list ? $0.list < $1.list : $0.query < $1.query }
        var start = 0
        while start < probes.count {
            var end = start + 1
            while end < probes.count && probes[end].list == probes[start].list { end += 1 }
            let group = probes[start..<end]
            try storage.forEachBlock(ofList: group.first!.list) { block in
                for probe in group {
                    batchCandidates[probe.query].append(
                        block, query: queries[probe.query], prefilter: parameters.prefilter, codeBytes: codeBytes)
                }
            }
            start = end
        }
        var single = parameters
        single.threads = 1
        let ownCandidates = workers[0].candidates
        defer { workers[0].candidates = ownCandidates }
        return try queries.indices.map { index in
            workers[0].candidates = batchCandidates[index]
            return try rescoreBest(queries[index], parameters: single, parts: 1, in: storage)
        }
    }

    /// Contiguous ranges of `sizes`' indices, one per part, of about equal total size.
    static func split(_ sizes: [Int], into parts: Int) -> [Range<Int>] {
        let total = sizes.reduce(0, +)
        var ranges: [Range<Int>] = []
        var start = 0
        var sum = 0
        for part in 0..<parts {
            var end = start
            let goal = total * (part + 1) / parts
            while end < sizes.count && (sum < goal || part == parts - 1) {
                sum += sizes[end]
                end += 1
            }
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }

    /// Selects the candidates the first `parts` workers collected that are nearest by the
    /// prefilter (ties to earlier workers and positions, so the split does not change the
    /// result), rescores them by INT8 cosine and returns the best `k`.
    private func rescoreBest(
        _ query: PreparedQuery, parameters: SearchParameters, parts: Int, in storage: some IVFStorage
    ) throws -> [ScoredID] {
        let (workers, pool) = (Array(self.workers.prefix(parts)), self.pool)
        let scanned = workers.reduce(0) { $0 + $1.candidates.count }
        // With spilling, a vector met in two probed lists is there twice with the same code, so
        // twice the candidates are selected and the nearest `candidateCount` distinct ones kept.
        let wanted = min(parameters.candidateCount * (parameters.listsShareVectors ? 2 : 1), scanned)
        let maximumDistance = parameters.prefilter == .hamming ? codeBytes * 8 : Int(query.asymmetricPlanes.range)
        var threshold = maximumDistance + 1
        var ties = [Int](repeating: 0, count: parts)
        if wanted < scanned {
            pool.run(parts) { workers[$0].countDistances(maximumDistance: maximumDistance) }
            // The smallest distance t with count(d <= t) >= wanted, then who takes the ties at t.
            var below = 0
            threshold = 0
            while true {
                let atThreshold = workers.reduce(0) { $0 + Int($1.histogram[threshold]) }
                if below + atThreshold >= wanted { break }
                below += atThreshold
                threshold += 1
            }
            var remaining = wanted - below
            for part in 0..<parts {
                ties[part] = min(remaining, Int(workers[part].histogram[threshold]))
                remaining -= ties[part]
            }
        }
        pool.run(parts) { workers[$0].select(below: threshold, ties: ties[$0]) }
        // Find every record first, then take the dot products in passes that prefetch the
        // records ahead (they are scattered through the map).
        rescoreIDs.removeAll(keepingCapacity: true)
        if parameters.listsShareVectors {
            distinctCandidates.removeAll(keepingCapacity: true)
            for worker in workers {
                let (ids, distances) = (worker.candidates.ids, worker.candidates.distances)
                for position in worker.selected.prefix(worker.selectedCount).map(Int.init) {
                    distinctCandidates.append((distances[position], ids[position]))
                }
            }
            distinctCandidates.sort { $0.id != $1.id ? $0.id < $1.id : $0.distance < $1.distance }
            var unique = 0
            for candidate in distinctCandidates where unique == 0 || distinctCandidates[unique - 1].id != candidate.id {
                distinctCandidates[unique] = candidate
                unique += 1
            }
            distinctCandidates.removeLast(distinctCandidates.count - unique)
            if unique > parameters.candidateCount {
                distinctCandidates.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.id < $1.id }
                distinctCandidates.removeLast(unique - parameters.candidateCount)
            }
            rescoreIDs.append(contentsOf: distinctCandidates.lazy.map(\.id))
        } else {
            for worker in workers {
                let ids = worker.candidates.ids
                for position in worker.selected.prefix(worker.selectedCount) { rescoreIDs.append(ids[Int(position)]) }
            }
        }
        rescoreRecords.removeAll(keepingCapacity: true)
        var found = 0
        for index in rescoreIDs.indices {
            let id = rescoreIDs[index]
            guard let address = try storage.recordAddress(id: id) else { continue }
            rescoreIDs[found] = id
            found += 1
            rescoreRecords.append(address.assumingMemoryBound(to: Int8.self))
        }
        rescoreIDs.removeLast(rescoreIDs.count - found)
        let ids = rescoreIDs
        let records = rescoreRecords
        guard !ids.isEmpty else { return [] }
        if dots.count < ids.count { dots = [Int32](repeating: 0, count: ids.count) }
        // A part of fewer than a few hundred candidates costs more to hand over than to score.
        let rescoreParts = max(1, min(parts, ids.count / 256))
        let rescoreRanges = Self.split([Int](repeating: 1, count: ids.count), into: rescoreParts)
        let dimension = self.dimension
        query.values.withUnsafeBufferPointer { q in
            dots.withUnsafeMutableBufferPointer { out in
                records.withUnsafeBufferPointer { records in
                    pool.run(rescoreParts) { part in
                        let range = rescoreRanges[part]
                        qk_dot_i8_gather(
                            q.baseAddress, records.baseAddress! + range.lowerBound, range.count, dimension,
                            out.baseAddress! + range.lowerBound)
                    }
                }
            }
        }
        var results: [ScoredID] = []
        results.reserveCapacity(ids.count)
        for i in 0..<ids.count {
            let norm = Float(
                bitPattern: UInt32(
                    littleEndian: UnsafeRawPointer(records[i]!).loadUnaligned(
                        fromByteOffset: dimension, as: UInt32.self)))
            let denominator = query.norm * norm
            results.append(ScoredID(id: ids[i], score: denominator > 0 ? Float(dots[i]) / denominator : 0))
        }
        return topK(results, parameters.k)
    }

    /// Exact search: INT8 cosine against every stored vector.
    public func exactSearch(_ query: PreparedQuery, k: Int, in storage: some IVFStorage) throws -> [ScoredID] {
        var heap = TopKHeap(capacity: k)
        try storage.forEachVector { id, stored in
            heap.insert(ScoredID(id: id, score: cosine(query, stored)))
            return true
        }
        return heap.sortedDescending()
    }

    @inline(__always) private func cosine(_ query: PreparedQuery, _ stored: StoredVector) -> Float {
        let dot = query.values.withUnsafeBufferPointer { qk_dot_i8($0.baseAddress, stored.values, dimension) }
        let denominator = query.norm * stored.norm
        return denominator > 0 ? Float(dot) / denominator : 0
    }
}

/// The `k` best results, best first (ties: lower id first).
public func topK(_ results: [ScoredID], _ k: Int) -> [ScoredID] {
    var sorted = results
    sorted.withUnsafeMutableBufferPointer { buffer in
        partialSortDescending(buffer, take: min(k, buffer.count), by: \.score, tieBreak: \.id)
    }
    return Array(sorted.prefix(k))
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
