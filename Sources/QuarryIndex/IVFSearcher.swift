import CQuarryKernels
import Foundation
import QuarryBase

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
