import Foundation
import QuarryIndex
import Testing

@Suite struct NeighbourhoodStatisticsTests {
    static let dimension = 128
    static let count = 20000

    /// The statistics of one generator shape, on its own exact neighbours.
    func statistics(_ shape: SyntheticEmbeddings.Shape) -> NeighbourhoodStatistics {
        let synth = SyntheticEmbeddings(
            dimension: Self.dimension, clusterCount: shape.clusterCount(for: Self.count), seed: 11, shape: shape)
        let base = synth.int8Rows(first: 0, count: Self.count)
        let queries = synth.int8Rows(first: 0, count: 40, queries: true)
        return base.withUnsafeBufferPointer { values in
            let row = { (r: Int) in values.baseAddress! + r * Self.dimension }
            let truth = ExactNeighbors.compute(
                queries: queries, dimension: Self.dimension, baseCount: Self.count, k: 1000, baseRow: row
            ).map { $0.map { Int($0.id) } }
            return NeighbourhoodStatistics.measure(
                base: row, baseCount: Self.count, dimension: Self.dimension, queries: queries, truth: truth,
                listCount: 565)
        }
    }

    @Test func wideNeighbourhoodsSpreadOverMoreListsThanNarrowOnes() {
        let narrow = statistics(.narrow)
        let wide = statistics(.wide)
        for s in [narrow, wide] {
            let cosines = NeighbourhoodStatistics.ranks.map { s.neighbourCosines[$0]! }
            // Deeper neighbours are farther, and the 1000th still nearer than a random pair.
            #expect(zip(cosines, cosines.dropFirst()).allSatisfy { $0 > $1 })
            #expect(cosines.last! > s.randomPairCosine)
            #expect(s.listsHoldingTop10 >= 1 && s.listsHoldingTop10 <= 10)
            #expect(s.listsHoldingTop1000 >= s.listsHoldingTop10 && s.listsHoldingTop1000 <= 565)
        }
        #expect(wide.listsHoldingTop1000 > 1.5 * narrow.listsHoldingTop1000)
        // Wide neighbourhoods fall off faster from their first neighbour to their 1000th.
        #expect(
            wide.neighbourCosines[1]! - wide.neighbourCosines[1000]!
                > narrow.neighbourCosines[1]! - narrow.neighbourCosines[1000]!)
    }

    @Test func listSpreadCountsDistinctListsOfTheNamedRows() {
        // Two tight groups along opposite axes: each query's truth names rows of one group or both.
        let dimension = 4
        var base: [Int8] = []
        for row in 0..<40 {
            let sign: Int8 = row < 20 ? 1 : -1
            base += [sign * 100, Int8(row % 5), 0, 0]
        }
        let queries: [Int8] = [100, 0, 0, 0, -100, 0, 0, 0, 0, 100, 0, 0]
        let truth = [Array(0..<20), Array(20..<25) + Array(0..<5), Array(0..<3) + Array(37..<40)]
        let s = base.withUnsafeBufferPointer { values in
            NeighbourhoodStatistics.measure(
                base: { values.baseAddress! + $0 * dimension }, baseCount: 40, dimension: dimension,
                queries: queries, truth: truth, listCount: 2)
        }
        // The groups are the two lists: one query's truth sits in one, the others' in both.
        #expect(s.listsHoldingTop1000 == 2 && s.listsHoldingTop10 == 2)
        #expect(s.neighbourCosines[1]! > 0.99)  // query 0's nearest is row 0, along its axis
        #expect(s.neighbourCosines[1000] == nil)  // no truth reaches rank 1000
        #expect(s.queryCount == 3 && s.listCount == 2 && s.top1000ListShare == 1)
    }
}
