import Foundation
import QuarryFuzz
import Testing

/// A short run of every fuzz target (the same harness `scripts/fuzz.sh` runs for millions of
/// executions): the seeds, then mutations, with no crash, hang or finding.
// Serialized: the crash capture keeps the running input in process-wide state.
@Suite(.serialized) struct FuzzSmokeTests {
    static let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Benchmarks/fuzz/corpus").standardizedFileURL

    @Test(arguments: FuzzTarget.all.map(\.name))
    func shortRun(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let seeds = try FuzzRunner.corpus(in: Self.corpusRoot.appendingPathComponent(name))
        #expect(!seeds.isEmpty, "target \(name) has no seed corpus")
        let crashes = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-fuzz-crashes")
        let runner = FuzzRunner(target: target, seed: 12, crashDirectory: crashes)
        let report = try runner.run(seeds: seeds, executions: seeds.count + 2000)
        #expect(report.executions == seeds.count + 2000)
        #expect(report.findings.isEmpty, "\(report.findings)")
        // The seeds reach the parser's accepting path, so mutations start from valid inputs.
        #expect(report.acceptedSeeds > 0, "no seed of \(name) is accepted")
        // Mutations are both accepted and rejected: the harness explores, not repeats.
        #expect(report.outcomes >= 2 && report.accepted < report.executions, "\(report)")
    }

    @Test func mutationsAreDeterministicForASeed() {
        let seeds: [[UInt8]] = [Array(#"{"a": [1, 2, "x"], "b": null}"#.utf8)]
        var first = Mutator(seed: 7, maxLength: 256, isJSON: true, seeds: seeds)
        var second = Mutator(seed: 7, maxLength: 256, isJSON: true, seeds: seeds)
        var third = Mutator(seed: 8, maxLength: 256, isJSON: true, seeds: seeds)
        let a = (0..<50).map { _ in first.mutate(seeds[0], other: seeds[0]) }
        let b = (0..<50).map { _ in second.mutate(seeds[0], other: seeds[0]) }
        let c = (0..<50).map { _ in third.mutate(seeds[0], other: seeds[0]) }
        #expect(a == b)
        #expect(a != c)
        #expect(a.allSatisfy { $0.count <= 256 })
    }
}
