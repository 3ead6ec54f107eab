import Foundation
import QuarryIndex
import Testing

/// Brute-force INT8 cosine in plain Swift: the reference the kernels and search are held to.
func referenceCosine(_ a: ArraySlice<Int8>, _ b: ArraySlice<Int8>) -> Float {
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

struct SmallIndex {
    let dimension = 128
    let count = 2000
    let vectors: [Int8]
    let queries: [Int8]
    let index: InMemoryIVFIndex

    init(blockCapacity: Int = 256) {
        let synth = SyntheticEmbeddings(dimension: dimension, clusterCount: 20, seed: 3)
        vectors = synth.int8Rows(first: 0, count: count)
        queries = synth.int8Rows(first: 0, count: 20, queries: true)
        var kmeans = KMeans(clusterCount: 16, dimension: dimension)
        kmeans.iterations = 5
        let centroids = kmeans.train(vectors.map(Float.init), count: count)
        index = InMemoryIVFIndex(
            vectors: vectors, count: count, dimension: dimension, centroids: centroids, blockCapacity: blockCapacity)
    }

    func query(_ q: Int) -> [Int8] { Array(queries[q * dimension..<(q + 1) * dimension]) }

    func bruteForce(_ q: Int, k: Int) -> [ScoredID] {
        let query = queries[q * dimension..<(q + 1) * dimension]
        let scored = (0..<count).map {
            ScoredID(id: UInt64($0), score: referenceCosine(query, vectors[$0 * dimension..<($0 + 1) * dimension]))
        }
        return Array(scored.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }.prefix(k))
    }
}

@Suite struct SearchTests {
    let fixture = SmallIndex()

    @Test func exactSearchMatchesBruteForce() throws {
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        for q in 0..<5 {
            let found = try searcher.exactSearch(PreparedQuery(int8: fixture.query(q)), k: 25, in: fixture.index)
            let expected = fixture.bruteForce(q, k: 25)
            #expect(found.map(\.id) == expected.map(\.id))
            for (a, b) in zip(found, expected) { #expect(abs(a.score - b.score) < 1e-5) }
        }
    }

    @Test func probingEverythingWithoutPrefilterLossIsExact() throws {
        // All lists probed and every candidate rescored: the IVF search must equal exact search.
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        let parameters = SearchParameters(k: 10, nprobe: 16, oversample: Double(fixture.count))
        for q in 0..<5 {
            let found = try searcher.search(
                PreparedQuery(int8: fixture.query(q)), parameters: parameters, in: fixture.index)
            #expect(found.map(\.id) == fixture.bruteForce(q, k: 10).map(\.id))
        }
    }

    @Test(arguments: Prefilter.allCases)
    func probingEverythingIsExactWithEitherPrefilter(prefilter: Prefilter) throws {
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        let parameters = SearchParameters(k: 10, nprobe: 16, oversample: Double(fixture.count), prefilter: prefilter)
        for q in 0..<3 {
            let found = try searcher.search(
                PreparedQuery(int8: fixture.query(q)), parameters: parameters, in: fixture.index)
            #expect(found.map(\.id) == fixture.bruteForce(q, k: 10).map(\.id))
        }
    }

    @Test(arguments: Prefilter.allCases)
    func splittingASearchBetweenThreadsChangesNothing(prefilter: Prefilter) throws {
        // Partial probing and a candidate cut that falls among tied prefilter distances (128-bit
        // Hamming distances tie often): every split must keep the same candidates.
        let single = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        let split = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        for q in 0..<8 {
            let query = PreparedQuery(int8: fixture.query(q))
            let one = try single.search(
                query, parameters: SearchParameters(k: 40, nprobe: 5, oversample: 3, prefilter: prefilter),
                in: fixture.index)
            #expect(one.count == 40)
            for threads in [2, 3, 7] {
                let parameters = SearchParameters(
                    k: 40, nprobe: 5, oversample: 3, prefilter: prefilter, threads: threads)
                let found = try split.search(query, parameters: parameters, in: fixture.index)
                #expect(found == one, "query \(q), \(threads) threads")
            }
        }
    }

    @Test(arguments: Prefilter.allCases)
    func batchedSearchEqualsOneSearchPerQuery(prefilter: Prefilter) throws {
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        let parameters = SearchParameters(k: 15, nprobe: 3, oversample: 2, prefilter: prefilter)
        let queries = (0..<20).map { PreparedQuery(int8: fixture.query($0)) }
        let batched = try searcher.search(batch: queries, parameters: parameters, in: fixture.index)
        #expect(batched.count == queries.count)
        for (index, query) in queries.enumerated() {
            let alone = try searcher.search(query, parameters: parameters, in: fixture.index)
            #expect(alone.count == 15)
            #expect(batched[index] == alone, "query \(index)")
        }
        // A second, smaller batch through the same searcher must not see the first one's candidates.
        let again = try searcher.search(batch: Array(queries.suffix(3)), parameters: parameters, in: fixture.index)
        #expect(again == Array(batched.suffix(3)))
    }

    @Test(arguments: [3, 96, 128, 1024, 2560])
    func queryPlanesHoldTheRoundedQuery(dimension: Int) {
        var generator = SplitMix64(seed: UInt64(dimension))
        let values = (0..<dimension).map { _ in Int8(truncatingIfNeeded: generator.next()) }
        let query = PreparedQuery(int8: values)
        // Every distance must fit the UInt16 counting selection.
        #expect(
            ((1 << query.asymmetricPlanes.count) - 1) * dimension <= Int(UInt16.max)
                || query.asymmetricPlanes.count == 1)
        let step = Float(256 >> query.asymmetricPlanes.count)
        let codeBytes = query.code.count
        var maximum: Int32 = 0
        var range: Int32 = 0
        for d in 0..<dimension {
            var unsigned: Int32 = 0
            for plane in 0..<query.asymmetricPlanes.count
            where query.asymmetricPlanes.planes[plane * codeBytes + d / 8] & (0x80 >> (d % 8)) != 0 {
                unsigned |= 1 << plane
            }
            let expected = min(
                max((Float(values[d]) / step).rounded(), -Float(query.asymmetricPlanes.offset)),
                Float(query.asymmetricPlanes.offset - 1))
            #expect(unsigned - query.asymmetricPlanes.offset == Int32(expected))
            maximum += max(0, Int32(expected))
            range += abs(Int32(expected))
        }
        #expect(query.asymmetricPlanes.maximum == maximum && query.asymmetricPlanes.range == range)
    }

    @Test func cascadeRanksAsTheAsymmetricPrefilterWhenItsSurvivorsCoverTheScan() throws {
        // 5 of 16 lists hold about 600 codes, fewer than the 6 × 120 survivors the cascade keeps.
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        for q in 0..<8 {
            let query = PreparedQuery(int8: fixture.query(q))
            func search(_ prefilter: Prefilter) throws -> [ScoredID] {
                try searcher.search(
                    query, parameters: SearchParameters(k: 40, nprobe: 5, oversample: 3, prefilter: prefilter),
                    in: fixture.index)
            }
            #expect(try search(.cascade) == search(.asymmetric), "query \(q)")
        }
    }

    @Test func cascadeRecallsMoreThanHammingAtEqualCandidates() throws {
        // Every list probed (2,000 codes), 30 candidates: the cascade's 180 Hamming survivors,
        // re-ranked asymmetrically, must find more true neighbours than the Hamming top 30.
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        var found: [Prefilter: Int] = [:]
        for q in 0..<20 {
            let truth = Set(fixture.bruteForce(q, k: 10).map(\.id))
            for prefilter in [Prefilter.hamming, .cascade] {
                let hits = try searcher.search(
                    PreparedQuery(int8: fixture.query(q)),
                    parameters: SearchParameters(k: 10, nprobe: 16, oversample: 3, prefilter: prefilter),
                    in: fixture.index)
                found[prefilter, default: 0] += hits.filter { truth.contains($0.id) }.count
            }
        }
        #expect(found[.cascade]! > found[.hamming]!, "\(found)")
    }

    @Test func asymmetricPrefilterBeatsHammingAtEqualCandidates() throws {
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        var recall: [Prefilter: Double] = [:]
        for prefilter in Prefilter.allCases {
            for q in 0..<20 {
                let parameters = SearchParameters(k: 10, nprobe: 16, oversample: 3, prefilter: prefilter)
                let found = try searcher.search(
                    PreparedQuery(int8: fixture.query(q)), parameters: parameters, in: fixture.index)
                recall[prefilter, default: 0] += RetrievalMetrics.recall(
                    retrieved: found.map(\.id), truth: fixture.bruteForce(q, k: 10).map(\.id), k: 10)
            }
        }
        #expect(recall[.asymmetric]! > recall[.hamming]!)
    }

    @Test func moderateSettingsReachHighRecall() throws {
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        var recall = 0.0
        for q in 0..<20 {
            let found = try searcher.search(
                PreparedQuery(int8: fixture.query(q)), parameters: SearchParameters(k: 10, nprobe: 6, oversample: 10),
                in: fixture.index)
            recall += RetrievalMetrics.recall(
                retrieved: found.map(\.id), truth: fixture.bruteForce(q, k: 10).map(\.id), k: 10)
        }
        #expect(recall / 20 >= 0.8)
    }

    @Test func nearestListsAreOrderedByCentroidSimilarity() {
        let searcher = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        let query = fixture.query(0)
        let lists = searcher.nearestLists(to: PreparedQuery(int8: query), count: 16)
        #expect(Set(lists).count == 16)
        let centroids = fixture.index.centroids
        let dimension = fixture.dimension
        let scores = lists.map { list in
            (0..<dimension).reduce(Float(0)) { $0 + centroids[list * dimension + $1] * Float(query[$1]) }
        }
        // The search scores centroids at INT8: each value within half a step (largest / 127) of
        // the float, so a dot product within Σ|q| · step / 2 of the exact one.
        let error = lists.map { list in
            let largest = centroids[list * dimension..<(list + 1) * dimension].map(abs).max()!
            return query.reduce(Float(0)) { $0 + abs(Float($1)) } * largest / 127 / 2
        }
        for i in 1..<lists.count {
            #expect(scores[i - 1] + error[i - 1] + error[i] >= scores[i], "list \(i) of \(lists.count)")
        }
        // Nothing left out beats the last list taken by more than the error.
        let taken = Set(lists)
        for list in 0..<searcher.listCount where !taken.contains(list) {
            let score = (0..<dimension).reduce(Float(0)) { $0 + centroids[list * dimension + $1] * Float(query[$1]) }
            #expect(score <= scores.last! + 2 * error.max()!)
        }
    }

    @Test func exactNeighborsMatchesBruteForce() {
        let dimension = fixture.dimension
        let truth = fixture.vectors.withUnsafeBufferPointer { base in
            ExactNeighbors.compute(
                queries: Array(fixture.queries[0..<(3 * dimension)]), dimension: dimension, baseCount: fixture.count,
                k: 50
            ) {
                base.baseAddress! + $0 * dimension
            }
        }
        for q in 0..<3 {
            let expected = fixture.bruteForce(q, k: 50)
            // Scores agree; ids agree except possibly among exact ties.
            for (a, b) in zip(truth[q], expected) { #expect(abs(a.score - b.score) < 1e-5) }
            #expect(Set(truth[q].map(\.id)).intersection(expected.map(\.id)).count >= 49)
        }
    }

    @Test func topKSelectionMatchesFullSort() {
        var generator = SplitMix64(seed: 11)
        let items = (0..<5000).map { ScoredID(id: UInt64($0), score: Float(generator.next() % 300) / 7) }
        let expected = items.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        for k in [1, 10, 999, 5000, 6000] {
            #expect(topK(items, k) == Array(expected.prefix(k)))
            var heap = TopKHeap(capacity: k)
            items.forEach { heap.insert($0) }
            #expect(heap.sortedDescending() == Array(expected.prefix(k)))
        }
    }

    @Test func blockAndRecordLayoutsRoundTrip() {
        let codeBytes = IVFLayout.codeBytes(dimension: 100)
        #expect(codeBytes == 16)
        let ids: [UInt64] = [5, 1 << 40, 7]
        let codes = (0..<3 * codeBytes).map { UInt8($0 % 251) }
        let bytes = IVFBlock.encode(ids: ids, codes: codes, codeBytes: codeBytes)
        bytes.withUnsafeBytes { raw in
            let block = IVFBlock(bytes: raw, codeBytes: codeBytes)!
            #expect(block.count == 3)
            #expect((0..<3).map(block.id(at:)) == ids)
            #expect(Array(UnsafeRawBufferPointer(start: block.codes, count: codes.count)) == codes)
            #expect(IVFBlock(bytes: UnsafeRawBufferPointer(rebasing: raw.dropLast()), codeBytes: codeBytes) == nil)
        }
        let values: [Int8] = [3, -4, 0, 127, -128]
        let record = values.withUnsafeBufferPointer { StoredVector.encode(values: $0, list: 9) }
        record.withUnsafeBytes { raw in
            let stored = StoredVector(bytes: raw, dimension: 5)!
            #expect(stored.list == 9)
            let sumOfSquares: Double = 9 + 16 + 127 * 127 + 128 * 128
            #expect(abs(Double(stored.norm) - sumOfSquares.squareRoot()) < 1e-3)
            #expect(Array(UnsafeBufferPointer(start: stored.values, count: 5)) == values)
        }
    }
}
