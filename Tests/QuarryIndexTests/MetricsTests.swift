import Foundation
import QuarryIndex
import Testing

@Suite struct MetricsTests {
    @Test func recallAgainstNeighbours() {
        #expect(RetrievalMetrics.recall(retrieved: [1, 2, 3, 4], truth: [4, 3, 9, 8], k: 4) == 0.5)
        // Only the first k of each side count.
        #expect(RetrievalMetrics.recall(retrieved: [1, 2, 3], truth: [3, 1, 2], k: 2) == 0.5)
    }

    @Test func recallAgainstJudgements() {
        let judgements = ["a": 2, "b": 1, "c": 0]
        #expect(RetrievalMetrics.recall(retrieved: ["x", "a", "c"], judgements: judgements, k: 10) == 0.5)
        #expect(RetrievalMetrics.recall(retrieved: ["b", "a"], judgements: judgements, k: 1) == 0.5)
    }

    @Test func ndcgOnAHandMadeRanking() {
        // Grades of the ranking: [0, 2, 1]; ideal: [2, 1].
        let judgements = ["a": 2, "b": 1]
        let dcg = 2 / log2(3.0) + 1 / log2(4.0)
        let ideal = 2 / log2(2.0) + 1 / log2(3.0)
        let value = RetrievalMetrics.ndcg(retrieved: ["x", "a", "b"], judgements: judgements, k: 10)
        #expect(abs(value - dcg / ideal) < 1e-12)
        #expect(RetrievalMetrics.ndcg(retrieved: ["a", "b"], judgements: judgements, k: 10) == 1)
        // A document listed twice earns its gain once.
        #expect(RetrievalMetrics.ndcg(retrieved: ["b", "b"], judgements: ["b": 1], k: 10) == 1)
        #expect(RetrievalMetrics.ndcg(retrieved: ["x"], judgements: judgements, k: 10) == 0)
    }

    @Test func percentiles() {
        let values = (1...100).map(Double.init)
        #expect(RetrievalMetrics.percentile(values, 0.5) == 50)
        #expect(RetrievalMetrics.percentile(values, 0.99) == 99)
        #expect(RetrievalMetrics.percentile([3], 0.99) == 3)
    }
}
