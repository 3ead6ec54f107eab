import Foundation
import Testing

@testable import QuarryEmbed

/// The Swift Qwen3 forward pass against transformers on a tiny random model
/// (scripts/reference/make_qwen3_reference.py).
@Suite struct EncoderQwen3Tests {
    let reference: [String: Any]
    let sequences: [[Int32]]
    let width: Int

    init() throws {
        reference = try EncoderFixtures.json("tiny-qwen3-reference.json")
        sequences = (reference["sequences"] as! [Any]).map { integers($0).map(Int32.init) }
        width = reference["hidden_size"] as! Int
    }

    private func pooled(_ encoder: TransformerEncoder) throws -> [[Float]] {
        try encoder.lastHiddenStates(sequences).map { Pooling.mean(hiddenStates: $0, width: width) }
    }

    @Test func hiddenStatesAndPoolingMatchTransformers() throws {
        let encoder = try TransformerEncoder(modelDirectory: EncoderFixtures.model("tiny-qwen3"))
        let hidden = try encoder.lastHiddenStates(sequences)
        let expectedHidden = (reference["hidden"] as! [Any]).map(floats)
        var worstToken = 1.0
        for (actual, expected) in zip(hidden, expectedHidden) {
            #expect(actual.count == expected.count)
            for token in 0..<actual.count / width {
                let slice = token * width..<(token + 1) * width
                worstToken = min(worstToken, cosine(actual[slice], expected[slice]))
            }
        }
        let expectedPooled = (reference["pooled"] as! [Any]).map(floats)
        let worstPooled = zip(try pooled(encoder), expectedPooled).map { cosine($0, $1) }.min()!
        print("tiny Qwen3 F32: worst token cosine \(worstToken), worst pooled cosine \(worstPooled)")
        #expect(worstToken >= 0.9999)
        #expect(worstPooled >= 0.9999)
    }

    @Test func quantizationsMatchTheModelCard() throws {
        let encoder = try TransformerEncoder(modelDirectory: EncoderFixtures.model("tiny-qwen3"))
        let vectors = try pooled(encoder)
        let expectedInt8 = (reference["int8"] as! [Any]).map(integers)
        var offByOne = 0
        var components = 0
        for (vector, expected) in zip(vectors, expectedInt8) {
            for (actual, wanted) in zip(EmbeddingQuantization.int8Tanh(vector), expected) {
                components += 1
                let difference = abs(Int(actual) - wanted)
                #expect(difference <= 1)
                if difference == 1 { offByOne += 1 }
            }
        }
        print("tiny Qwen3 INT8: \(offByOne) of \(components) components one step off")
        #expect(Double(offByOne) <= 0.001 * Double(components))
        #expect(
            vectors.map { EmbeddingQuantization.binary($0).map(Int.init) }
                == (reference["binary"] as! [Any]).map(integers))
        #expect(
            vectors.map { EmbeddingQuantization.packedBitsMSBFirst($0).map(Int.init) }
                == (reference["ubinary"] as! [Any]).map(integers))

        // On the reference's own pooled vectors the quantizers must agree exactly.
        let referencePooled = (reference["pooled"] as! [Any]).map(floats)
        #expect(referencePooled.map { EmbeddingQuantization.int8Tanh($0).map(Int.init) } == expectedInt8)
    }

    @Test func lateChunksMatchTheModelCard() throws {
        let encoder = try TransformerEncoder(modelDirectory: EncoderFixtures.model("tiny-qwen3"))
        let late = reference["late_chunking"] as! [String: Any]
        let joined = (late["joined"] as! [Any]).map { integers($0).map(Int32.init) }
        let expected = (late["chunks"] as! [Any]).map { ($0 as! [Any]).map(floats) }
        let separator = Int32(reference["separator"] as! Int)
        let hidden = try encoder.lastHiddenStates(joined)
        var worst = 1.0
        for (document, states) in hidden.enumerated() {
            let chunks = Pooling.lateChunks(
                tokens: joined[document], hiddenStates: states, width: width, separator: separator)
            #expect(chunks.count == expected[document].count)
            for (actual, wanted) in zip(chunks, expected[document]) {
                if wanted.allSatisfy({ $0 == 0 }) {
                    #expect(actual.allSatisfy { $0 == 0 })
                } else {
                    worst = min(worst, cosine(actual, wanted))
                }
            }
        }
        print("tiny Qwen3 late chunking: worst chunk cosine \(worst)")
        #expect(worst >= 0.9999)
    }

    @Test func packingDoesNotLeakAcrossSequences() throws {
        let encoder = try TransformerEncoder(modelDirectory: EncoderFixtures.model("tiny-qwen3"))
        let together = try encoder.lastHiddenStates(sequences)
        for (index, sequence) in sequences.enumerated() {
            let alone = try encoder.lastHiddenStates([sequence])[0]
            #expect(cosine(alone, together[index]) >= 0.99999)
        }
    }

    @Test func concurrentBatchesMatchOneAtATime() throws {
        let encoder = try TransformerEncoder(modelDirectory: EncoderFixtures.model("tiny-qwen3"))
        let batches = try [sequences, Array(sequences.reversed()), [sequences[0]]].map(encoder.pack)
        let together = encoder.forward(batches)
        for (batch, states) in zip(batches, together) {
            let alone = encoder.network.forward(batch)
            let count = batch.tokenCount * encoder.hiddenSize
            let a = Array(UnsafeBufferPointer(start: states.row(0), count: count))
            let b = Array(UnsafeBufferPointer(start: alone.row(0), count: count))
            #expect(cosine(a, b) >= 0.99999)
        }
    }

    @Test(arguments: [1, 2, 3, 16])
    func batchesCoverTheInputWithinTheLimit(threads: Int) {
        var rng = LinearCongruential(state: UInt64(threads))
        for _ in 0..<50 {
            let lengths = (0..<Int.random(in: 1...3000, using: &rng)).map { _ in Int.random(in: 1...512, using: &rng) }
                .sorted(by: >)
            let limit = Int.random(in: 512...9000, using: &rng)
            let ranges = Embedder.batchRanges(lengths: lengths, limit: limit, threads: threads)
            let perBatch = threads > 1 ? max(1024, limit / threads) : limit
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == lengths.count)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty })
            #expect(ranges.allSatisfy { $0.count == 1 || lengths[$0].reduce(0, +) <= perBatch })
            // Even shares: no batch but the last is much smaller than the share of the total.
            let share = lengths.reduce(0, +) / max(ranges.count, 1)
            #expect(ranges.dropLast().allSatisfy { lengths[$0].reduce(0, +) + 512 >= share || $0.count == 1 })
        }
    }

    @Test(arguments: ["tiny-qwen3-bf16", "tiny-qwen3-f16"])
    func halfPrecisionCheckpointsLoad(directory: String) throws {
        // BF16 is sharded with an index; F16 names its tensors with a `model.` prefix.
        let encoder = try TransformerEncoder(modelDirectory: EncoderFixtures.model(directory))
        let expected = (reference["pooled"] as! [Any]).map(floats)
        let worst = zip(try pooled(encoder), expected).map { cosine($0, $1) }.min()!
        print("tiny Qwen3 \(directory): worst pooled cosine \(worst)")
        #expect(worst >= 0.99)
    }

    @Test func rejectsBadInputs() throws {
        let encoder = try TransformerEncoder(modelDirectory: EncoderFixtures.model("tiny-qwen3"))
        #expect(throws: EncoderError.self) { try encoder.lastHiddenStates([[1, 2, 1000]]) }
        #expect(throws: EncoderError.self) { try encoder.lastHiddenStates([[Int32](repeating: 1, count: 513)]) }
        #expect(try encoder.lastHiddenStates([[]]) == [[]])
    }
}

/// A small seeded generator (Knuth's MMIX constants), so that failures reproduce.
private struct LinearCongruential: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}
