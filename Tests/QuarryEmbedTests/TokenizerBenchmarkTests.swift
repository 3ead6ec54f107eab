import Foundation
import Testing

@testable import QuarryEmbed

/// Tokenizer throughput on the golden text, repeated to a few megabytes. Opt-in, and meant for a
/// release build:
///
///     QUARRY_TOKENIZER_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing \
///         --filter TokenizerBenchmarkTests
@Suite(.enabled(if: ProcessInfo.processInfo.environment["QUARRY_TOKENIZER_BENCHMARK"] != nil))
struct TokenizerBenchmarkTests {
    private static let targetBytes = 4_000_000

    private func benchmarkText() throws -> [String] {
        let lines = try TokenizerTestData.goldenLines("tokenizer_goldens.jsonl").map(\.text)
        var texts: [String] = []
        var bytes = 0
        while bytes < Self.targetBytes {
            for line in lines {
                texts.append(line)
                bytes += line.utf8.count
            }
        }
        return texts
    }

    private func measure(_ name: String, _ tokenizer: any Tokenizer, _ texts: [String]) {
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        let clock = ContinuousClock()
        var tokens = 0
        let elapsed = clock.measure {
            for text in texts { tokens += tokenizer.encode(text).count }
        }
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        print(
            "\(name): \(tokens) tokens from \(bytes / 1_000_000) MB in \(String(format: "%.2f", seconds)) s = "
                + "\(Int(Double(tokens) / seconds)) tokens/s, \(String(format: "%.1f", Double(bytes) / seconds / 1e6)) MB/s"
        )
    }

    @Test func throughput() throws {
        let texts = try benchmarkText()
        let clock = ContinuousClock()
        var qwen: BPETokenizer?
        print(
            "Qwen ranks load: \(try clock.measure { qwen = try BPETokenizer(tiktokenFile: TokenizerTestData.qwenRanksFile) })"
        )
        var bert: WordPieceTokenizer?
        print("BERT tokenizer.json load: \(try clock.measure { bert = try TokenizerTestData.bert() })")
        measure("Qwen BPE (cold cache)", qwen!, texts)
        measure("Qwen BPE (warm cache)", qwen!, texts)
        measure("BERT WordPiece", bert!, texts)
    }
}
