import CQuarryKernels
import QuarryBase
import QuarrySchema

/// The ids a filtered search may return: a compiled filter's matches among the live vectors.
public struct SearchFilter: Sendable {
    /// The matching ids.
    public let matches: IDBitmap
    /// How many ids match.
    public let matchCount: Int
    /// How many vectors are live (the filter's universe).
    public let liveCount: Int

    public init(matches: IDBitmap, liveCount: Int) {
        self.matches = matches
        matchCount = matches.cardinality
        self.liveCount = max(liveCount, matchCount)
    }

    /// The share of live vectors that match.
    public var selectivity: Double { liveCount == 0 ? 0 : Double(matchCount) / Double(liveCount) }
}

/// How a filtered search finds its hits.
public enum FilterStrategy: String, Sendable, Codable {
    /// Score every matching vector exactly: for selective filters, whose matches are fewer
    /// than the codes a list scan would read to find enough of them.
    case exact
    /// Scan the nearest lists, keeping only matching codes, probing nprobe / √selectivity lists
    /// (and more until enough codes match).
    case scan
}

extension IVFSearcher {
    /// Bytes a scan reads per code, relative to the bytes an exact score reads per record:
    /// a code costs a few popcounts per word besides its load, so one code byte weighs more
    /// than one record byte.
    static let codeByteWeight = 2.0

    /// The strategy for a search with `parameters` under `filter` over lists holding
    /// `entries` codes in all: the one that reads fewer (weighted) bytes.
    public func strategy(for filter: SearchFilter, parameters: SearchParameters, entries: Int) -> FilterStrategy {
        guard filter.matchCount > parameters.candidateCount, listCount > 0 else { return .exact }
        let exactBytes = Double(filter.matchCount) * Double(dimension + 8)
        let unfilteredScan = Double(parameters.nprobe) * Double(entries) / Double(listCount)
        let scanBytes =
            unfilteredScan / max(filter.selectivity, 1e-9).squareRoot() * Double(codeBytes)
            * Self.codeByteWeight
        return exactBytes <= scanBytes ? .exact : .scan
    }

    /// Filtered approximate search: the best `k` among the ids `filter` matches, found by the
    /// cheaper of an exact scan of the matches and a list scan with widened probes.
    public func search(
        _ query: PreparedQuery, parameters: SearchParameters, in storage: some IVFStorage, filter: SearchFilter
    ) throws -> [ScoredID] {
        guard filter.matchCount > 0 else { return [] }
        let entries = filter.liveCount * (parameters.listsShareVectors ? 2 : 1)
        switch strategy(for: filter, parameters: parameters, entries: entries) {
        case .exact:
            profile?.searches += 1
            profile?.recordsRescored += filter.matchCount
            profile?.recordBytesRescored += filter.matchCount * IVFLayout.vectorRecordBytes(dimension: dimension)
            return try profile.measure(.rescore) {
                try exactSearch(query, k: parameters.k, in: storage, among: filter.matches)
            }
        case .scan:
            let lists = try profile.measure(.centroids) {
                try widenedLists(query, parameters: parameters, in: storage, filter: filter)
            }
            return try search(query, parameters: parameters, in: storage, lists: lists, keeping: filter.matches)
        }
    }

    /// The lists a filtered scan reads, ascending: the nprobe / √selectivity nearest, and
    /// further ones until they hold the candidates wanted among matching codes (or every list).
    func widenedLists(
        _ query: PreparedQuery, parameters: SearchParameters, in storage: some IVFStorage, filter: SearchFilter
    ) throws -> [Int] {
        let wanted = parameters.candidateCount * (parameters.listsShareVectors ? 2 : 1)
        // The filtered top k lie about as far out as the unfiltered top k / selectivity, which
        // neighbourhoods reach within far fewer than 1 / selectivity times the lists: probe
        // nprobe / √selectivity lists (and on until `wanted` matching codes are met).
        let probes = Int((Double(parameters.nprobe) / max(filter.selectivity, 1e-9).squareRoot()).rounded(.up))
        // A first guess at the lists needed; all of them if that does not suffice.
        let guess = Double(probes) * 2 + 8
        var order = nearestLists(to: query, count: guess >= Double(listCount) ? listCount : Int(guess))
        var chosen: [Int] = []
        var seen = Set<Int>()
        var matched = 0
        var position = 0
        while matched < wanted || chosen.count < probes {
            if position == order.count {
                guard order.count < listCount else { break }
                order = nearestLists(to: query, count: listCount)
                position = 0
                continue
            }
            let list = order[position]
            position += 1
            guard seen.insert(list).inserted else { continue }
            try storage.forEachBlock(ofList: list) { block in
                for index in 0..<block.count where filter.matches.contains(Int(block.id(at: index))) { matched += 1 }
            }
            chosen.append(list)
        }
        return chosen.sorted()
    }

    /// Exact search among the ids in `matches`: INT8 cosine against each of their records.
    public func exactSearch(
        _ query: PreparedQuery, k: Int, in storage: some IVFStorage, among matches: IDBitmap
    ) throws -> [ScoredID] {
        var heap = TopKHeap(capacity: k)
        // In rounds, so that the records of a round are gathered with prefetching.
        let round = 1024
        var ids: [UInt64] = []
        var records: [UnsafePointer<Int8>?] = []
        var roundDots = [Int32](repeating: 0, count: round)
        ids.reserveCapacity(round)
        records.reserveCapacity(round)
        func score() {
            guard !records.isEmpty else { return }
            query.values.withUnsafeBufferPointer { q in
                records.withUnsafeBufferPointer { r in
                    roundDots.withUnsafeMutableBufferPointer { d in
                        qk_dot_i8_gather(q.baseAddress, r.baseAddress, r.count, dimension, d.baseAddress)
                    }
                }
            }
            for (index, record) in records.enumerated() {
                let norm = StoredVector.norm(ofRecordAt: UnsafeRawPointer(record!), dimension: dimension)
                let denominator = query.norm * norm
                heap.insert(
                    ScoredID(id: ids[index], score: denominator > 0 ? Float(roundDots[index]) / denominator : 0))
            }
            ids.removeAll(keepingCapacity: true)
            records.removeAll(keepingCapacity: true)
        }
        try matches.forEachID { id in
            guard let address = try storage.recordAddress(id: UInt64(id)) else { return }
            ids.append(UInt64(id))
            records.append(address.assumingMemoryBound(to: Int8.self))
            if records.count == round { score() }
        }
        score()
        return heap.sortedDescending()
    }
}
