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
    /// Bytes of one stored code.
    let codeBytes: Int
    private var workers: [ScanWorker] = [ScanWorker()]
    /// Threads for the parts of a split search (none until one is asked for).
    private var pool = PartPool(width: 1)
    private var blocks: [IVFBlock] = []
    private var batchCandidates: [CandidateBuffer] = []
    /// The sign bits of every centroid, packed like the codes.
    private let centroidCodes: [UInt8]
    // Scratch read and written per list or per candidate: owned memory, no exclusivity checks.
    private var rescoreIDs = ScratchBuffer<UInt64>()
    private var distinctCandidates = ScratchBuffer<PrefilteredCandidate>()
    private var rescoreRecords = ScratchBuffer<UnsafePointer<Int8>?>()
    /// One rescore round's dot products per thread (`rescoreRound` each).
    private var dots = ScratchBuffer<Int32>()
    private var scores = ScratchBuffer<ScoredID>()
    private var selected = ScratchBuffer<UInt32>()
    private let histogram = ScratchBuffer<UInt32>(capacity: Int(UInt16.max) + 1)
    private let listScores: ScratchBuffer<Float>
    private let listDistances: ScratchBuffer<UInt16>
    private var shortlistRows = ScratchBuffer<UnsafePointer<Int8>?>()
    private var shortlistDots = ScratchBuffer<Int32>()
    /// When set, each search adds where its time went to it.
    public var profile: SearchProfile?

    /// - Parameter centroids: listCount × dimension unit-length centroids, row-major.
    public init(centroids: [Float], dimension: Int) {
        precondition(dimension > 0 && centroids.count % dimension == 0)
        self.dimension = dimension
        listCount = centroids.count / dimension
        codeBytes = IVFLayout.codeBytes(dimension: dimension)
        listScores = ScratchBuffer(capacity: listCount)
        listDistances = ScratchBuffer(capacity: listCount)
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
            let distances = listDistances.elements.baseAddress!
            query.code.withUnsafeBufferPointer { q in
                centroidCodes.withUnsafeBufferPointer { codes in
                    qk_hamming_batch(q.baseAddress, codes.baseAddress, codeBytes, listCount, distances)
                }
            }
            selected.reserve(shortlist)
            let chosen = selected.elements
            let chosenCount = qk_select_smallest_u16(
                distances, listCount, shortlist, UInt16(codeBytes * 8), histogram.elements.baseAddress,
                chosen.baseAddress)
            candidates = chosen.prefix(chosenCount).map { Int($0) }
        }
        // The shortlisted rows are scattered through megabytes of centroids: gather them with
        // prefetching.
        shortlistRows.reserve(candidates.count)
        shortlistDots.reserve(candidates.count)
        let (rows, rowDots, scores) = (shortlistRows.elements, shortlistDots.elements, listScores.elements)
        centroidValues.withUnsafeBufferPointer { c in
            for (index, list) in candidates.enumerated() { rows[index] = c.baseAddress! + list * dimension }
            query.values.withUnsafeBufferPointer { q in
                qk_dot_i8_gather(q.baseAddress, rows.baseAddress, candidates.count, dimension, rowDots.baseAddress)
            }
        }
        centroidScales.withUnsafeBufferPointer { scales in
            for (index, list) in candidates.enumerated() { scores[list] = Float(rowDots[index]) * scales[list] }
        }
        candidates.withUnsafeMutableBufferPointer { o in
            partialSortDescending(o, take: take) { scores[$0] }
        }
        return Array(candidates.prefix(take))
    }

    /// Records a thread rescores at a time.
    static let rescoreRound = 128

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
        // Lists in ascending order: neighbouring keys are neighbouring pages, and every way of
        // running a search (one thread, several, in a batch) sees the candidates in one order.
        let lists = profile.measure(.centroids) { nearestLists(to: query, count: parameters.nprobe).sorted() }
        return try search(query, parameters: parameters, in: storage, lists: lists, keeping: nil)
    }

    /// The search of `lists` (ascending), keeping only the codes of ids in `keeping` when given.
    func search(
        _ query: PreparedQuery, parameters: SearchParameters, in storage: some IVFStorage, lists: [Int],
        keeping: IDBitmap?
    ) throws -> [ScoredID] {
        precondition(query.values.count == dimension)
        blocks.removeAll(keepingCapacity: true)
        try profile.measure(.lists) {
            for list in lists {
                try storage.forEachBlock(ofList: list) { blocks.append($0) }
            }
        }
        if let profile {
            profile.searches += 1
            profile.listsProbed += lists.count
            let codes = blocks.reduce(0) { $0 + $1.count }
            profile.codesScanned += codes
            profile.codeBytesScanned += codes * codeBytes
        }
        let parts = max(1, min(parameters.threads, blocks.count))
        while workers.count < parts { workers.append(ScanWorker()) }
        if pool.width < parts { pool = PartPool(width: parts) }
        let ranges = Self.split(blocks.map(\.count), into: parts)
        let (probedBlocks, scanWorkers, codeBytes) = (blocks, workers, self.codeBytes)
        profile.measure(.scan) {
            pool.run(parts) { part in
                let candidates = scanWorkers[part].candidates
                candidates.removeAll()
                for index in ranges[part] {
                    candidates.append(
                        probedBlocks[index], query: query, prefilter: parameters.prefilter, codeBytes: codeBytes,
                        keeping: keeping)
                }
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
        var laps = PhaseLaps(profile)
        var scanned = workers.reduce(0) { $0 + $1.candidates.count }
        // With spilling, a vector met in two probed lists is there twice with the same code, so
        // twice the candidates are selected and the nearest `candidateCount` distinct ones kept.
        let wanted = min(parameters.candidateCount * (parameters.listsShareVectors ? 2 : 1), scanned)
        if parameters.prefilter == .cascade {
            // Keep the Hamming-nearest survivors, then score those asymmetrically.
            let survivors = min(wanted * Prefilter.cascadeSurvivors, scanned)
            let cut = selectionCut(workers, keeping: survivors, of: scanned, maximumDistance: codeBytes * 8)
            let codeBytes = self.codeBytes
            pool.run(parts) { part in
                workers[part].select(below: cut.threshold, ties: cut.ties[part])
                workers[part].narrowSelectedToAsymmetric(query: query, codeBytes: codeBytes)
            }
            scanned = survivors
        }
        let maximumDistance = parameters.prefilter == .hamming ? codeBytes * 8 : Int(query.asymmetricPlanes.range)
        let cut = selectionCut(workers, keeping: wanted, of: scanned, maximumDistance: maximumDistance)
        pool.run(parts) { workers[$0].select(below: cut.threshold, ties: cut.ties[$0]) }
        // Find every record first, then take the dot products in passes that prefetch the
        // records ahead (they are scattered through the map).
        let selectedTotal = workers.reduce(0) { $0 + $1.selectedCount }
        rescoreIDs.reserve(selectedTotal)
        let ids = rescoreIDs.elements
        var gathered = 0
        if parameters.listsShareVectors {
            distinctCandidates.reserve(selectedTotal)
            let distinct = distinctCandidates.elements
            for worker in workers {
                let (workerIDs, distances) = (worker.candidates.ids.elements, worker.candidates.distances.elements)
                for position in worker.selected.elements.prefix(worker.selectedCount).lazy.map(Int.init) {
                    distinct[gathered] = PrefilteredCandidate(distance: distances[position], id: workerIDs[position])
                    gathered += 1
                }
            }
            var collected = UnsafeMutableBufferPointer(rebasing: distinct[..<gathered])
            collected.sort(by: PrefilteredCandidate.byID)
            var unique = 0
            for candidate in collected where unique == 0 || collected[unique - 1].id != candidate.id {
                collected[unique] = candidate
                unique += 1
            }
            if unique > parameters.candidateCount {
                var nearest = UnsafeMutableBufferPointer(rebasing: collected[..<unique])
                nearest.sort(by: PrefilteredCandidate.byDistance)
                unique = parameters.candidateCount
            }
            for index in 0..<unique { ids[index] = collected[index].id }
            gathered = unique
        } else {
            for worker in workers {
                let workerIDs = worker.candidates.ids.elements
                for position in worker.selected.elements.prefix(worker.selectedCount) {
                    ids[gathered] = workerIDs[Int(position)]
                    gathered += 1
                }
            }
        }
        laps.lap(.selection)
        rescoreRecords.reserve(gathered)
        let records = rescoreRecords.elements
        var found = 0
        for index in 0..<gathered {
            let id = ids[index]
            guard let address = try storage.recordAddress(id: id) else { continue }
            ids[found] = id
            records[found] = address.assumingMemoryBound(to: Int8.self)
            found += 1
        }
        laps.lap(.locate)
        profile?.recordsRescored += found
        profile?.recordBytesRescored += found * IVFLayout.vectorRecordBytes(dimension: dimension)
        guard found > 0 else { return [] }
        scores.reserve(found)
        let scored = scores.elements
        // A part of fewer than a few hundred candidates costs more to hand over than to score.
        let rescoreParts = max(1, min(parts, found / 256))
        let rescoreRanges = Self.split([Int](repeating: 1, count: found), into: rescoreParts)
        let (dimension, queryNorm) = (self.dimension, query.norm)
        dots.reserve(rescoreParts * Self.rescoreRound)
        let recordDots = dots.elements
        query.values.withUnsafeBufferPointer { q in
            pool.run(rescoreParts) { part in
                // In rounds small enough that the records' norms, just past the values the dot
                // product read, are still in cache when the cosines are taken.
                let dotsOfRound = recordDots.baseAddress! + part * Self.rescoreRound
                var start = rescoreRanges[part].lowerBound
                while start < rescoreRanges[part].upperBound {
                    let count = min(Self.rescoreRound, rescoreRanges[part].upperBound - start)
                    qk_dot_i8_gather(q.baseAddress, records.baseAddress! + start, count, dimension, dotsOfRound)
                    for i in start..<start + count {
                        let norm = StoredVector.norm(ofRecordAt: UnsafeRawPointer(records[i]!), dimension: dimension)
                        let denominator = queryNorm * norm
                        scored[i] = ScoredID(
                            id: ids[i], score: denominator > 0 ? Float(dotsOfRound[i - start]) / denominator : 0)
                    }
                    start += count
                }
            }
        }
        laps.lap(.rescore)
        let best = topK(UnsafeMutableBufferPointer(rebasing: scored[..<found]), parameters.k)
        laps.lap(.rank)
        return best
    }

    /// The distance threshold that keeps the `wanted` nearest of the `scanned` candidates the
    /// workers collected, and how many of those at the threshold each worker keeps (the first
    /// ones, in scan order, so the split does not change which).
    private func selectionCut(
        _ workers: [ScanWorker], keeping wanted: Int, of scanned: Int, maximumDistance: Int
    ) -> (threshold: Int, ties: [Int]) {
        var ties = [Int](repeating: 0, count: workers.count)
        guard wanted < scanned else { return (maximumDistance + 1, ties) }
        pool.run(workers.count) { workers[$0].countDistances(maximumDistance: maximumDistance) }
        // The smallest distance t with count(d <= t) >= wanted, then who takes the ties at t.
        var below = 0
        var threshold = 0
        while true {
            let atThreshold = workers.reduce(0) { $0 + Int($1.histogram.elements[threshold]) }
            if below + atThreshold >= wanted { break }
            below += atThreshold
            threshold += 1
        }
        var remaining = wanted - below
        for part in workers.indices {
            ties[part] = min(remaining, Int(workers[part].histogram.elements[threshold]))
            remaining -= ties[part]
        }
        return (threshold, ties)
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

/// A candidate's prefilter distance and id, as the selection of distinct candidates sorts them.
private struct PrefilteredCandidate {
    var distance: UInt16
    var id: UInt64

    /// By id, then by distance (a vector met in two lists comes first with its nearer copy).
    static func byID(_ a: Self, _ b: Self) -> Bool { a.id != b.id ? a.id < b.id : a.distance < b.distance }

    /// By distance, then by id.
    static func byDistance(_ a: Self, _ b: Self) -> Bool {
        a.distance != b.distance ? a.distance < b.distance : a.id < b.id
    }
}
