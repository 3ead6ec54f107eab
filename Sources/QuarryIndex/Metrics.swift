import Foundation

/// Retrieval quality measures.
public enum RetrievalMetrics {
    /// Recall@k against exact neighbours: the share of the first `k` true neighbours found among
    /// the first `k` results.
    public static func recall<ID: Hashable>(retrieved: [ID], truth: [ID], k: Int) -> Double {
        let expected = truth.prefix(k)
        guard !expected.isEmpty else { return 1 }
        let wanted = Set(expected)
        let found = retrieved.prefix(k).reduce(0) { $0 + (wanted.contains($1) ? 1 : 0) }
        return Double(found) / Double(expected.count)
    }

    /// Recall@k against relevance judgements: the share of relevant documents (grade > 0)
    /// found among the first `k` results.
    public static func recall<ID: Hashable>(retrieved: [ID], judgements: [ID: Int], k: Int) -> Double {
        let relevant = judgements.filter { $0.value > 0 }
        guard !relevant.isEmpty else { return 0 }
        let found = Set(retrieved.prefix(k)).reduce(0) { $0 + (relevant[$1] != nil ? 1 : 0) }
        return Double(found) / Double(relevant.count)
    }

    /// nDCG@k with linear gains (the grade itself) and log2(rank + 1) discounts, as trec_eval.
    public static func ndcg<ID: Hashable>(retrieved: [ID], judgements: [ID: Int], k: Int) -> Double {
        func discountedGain(_ grades: [Int]) -> Double {
            grades.prefix(k).enumerated().reduce(0) { $0 + Double($1.element) / log2(Double($1.offset) + 2) }
        }
        let ideal = discountedGain(judgements.values.filter { $0 > 0 }.sorted(by: >))
        guard ideal > 0 else { return 0 }
        var seen = Set<ID>()
        let grades = retrieved.prefix(k).map { seen.insert($0).inserted ? max(0, judgements[$0] ?? 0) : 0 }
        return discountedGain(grades) / ideal
    }

    /// The value at quantile `q` (0...1) of `values`, by nearest rank.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[max(0, min(sorted.count - 1, rank))]
    }
}
