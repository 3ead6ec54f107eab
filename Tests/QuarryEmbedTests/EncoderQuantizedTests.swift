import CQuarryKernels
import Foundation
import Testing

@testable import QuarryEmbed

/// INT8 and BF16 weights (`WeightPrecision.int8`, `.bf16`) against the F32 reference path: the
/// committed tiny Qwen3 models (F32, F16 and BF16 checkpoints) and all-MiniLM-L6-v2
/// (data/models) on sample texts, each vector held to cosine ≥ 0.99 of its F32 counterpart.
@Suite struct EncoderQuantizedTests {
    /// The tiny Qwen3 checkpoints, each with each reduced precision.
    static let tinyModels: [(String, WeightPrecision)] = ["tiny-qwen3", "tiny-qwen3-f16", "tiny-qwen3-bf16"]
        .flatMap { model in [(model, WeightPrecision.int8), (model, .bf16)] }

    /// Worst cosine between corresponding vectors.
    private func worstCosine(_ a: [[Float]], _ b: [[Float]]) -> Double {
        #expect(a.count == b.count && !a.isEmpty)
        return zip(a, b).map { cosine($0, $1) }.min() ?? 0
    }

    @Test(arguments: tinyModels)
    func tinyQwen3StaysNearF32(model: String, precision: WeightPrecision) throws {
        let reference = try EncoderFixtures.json("tiny-qwen3-reference.json")
        let sequences = (reference["sequences"] as! [Any]).map { integers($0).map(Int32.init) }
        let directory = EncoderFixtures.model(model)
        let f32 = try TransformerEncoder(modelDirectory: directory, weights: .f32)
        let reduced = try TransformerEncoder(modelDirectory: directory, weights: precision)
        #expect(reduced.weights == precision)
        let width = f32.hiddenSize
        let exact = try f32.lastHiddenStates(sequences)
        let quantized = try reduced.lastHiddenStates(sequences)
        var worstToken = 1.0
        for (a, b) in zip(exact, quantized) {
            #expect(a.count == b.count)
            for token in 0..<a.count / width {
                worstToken = min(
                    worstToken, cosine(a[token * width..<(token + 1) * width], b[token * width..<(token + 1) * width]))
            }
        }
        let worstPooled = worstCosine(
            exact.map { Pooling.mean(hiddenStates: $0, width: width) },
            quantized.map { Pooling.mean(hiddenStates: $0, width: width) })
        print("\(model) \(precision) against F32: worst token cosine \(worstToken), worst pooled \(worstPooled)")
        #expect(worstToken >= 0.99)
        #expect(worstPooled >= 0.99)
        #expect(worstToken < 1)  // the reduced path really ran
    }

    @Test(arguments: [WeightPrecision.int8, .bf16])
    func miniLMStaysNearF32(precision: WeightPrecision) throws {
        let directory = EncoderMiniLMTests.modelDirectory
        try #require(
            FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path),
            "all-MiniLM-L6-v2 is missing from \(directory.path): run scripts/setup.sh first")
        let texts = Array(
            try JSONDecoder().decode(
                [String].self,
                from: Data(contentsOf: EncoderFixtures.directory.appendingPathComponent("minilm-sentences.json"))
            ).prefix(200))
        let exact = try Embedder(modelDirectory: directory, weights: .f32).embed(texts)
        let quantized = try Embedder(modelDirectory: directory, weights: precision).embed(texts)
        let worst = worstCosine(exact, quantized)
        print("all-MiniLM-L6-v2 \(precision) against F32: worst cosine \(worst) over \(texts.count) texts")
        #expect(worst >= 0.99)
        #expect(worst < 1)
    }

    /// The tests that switch the process-wide kernel level, one at a time.
    @Suite(.serialized) struct KernelLevels {
        /// The INT8 kernels (VNNI, AVX2, portable) give the same bits, and so do the BF16 ones
        /// (AVX-512 BF16, portable), so embeddings do not depend on the CPU.
        @Test(arguments: [WeightPrecision.int8, .bf16])
        func embeddingsAreTheSameAtEveryKernelLevel(precision: WeightPrecision) throws {
            let reference = try EncoderFixtures.json("tiny-qwen3-reference.json")
            let sequences = (reference["sequences"] as! [Any]).map { integers($0).map(Int32.init) }
            let encoder = try TransformerEncoder(
                modelDirectory: EncoderFixtures.model("tiny-qwen3"), weights: precision)
            let previous = qk_active_level()
            defer { qk_set_level(previous) }
            var results: [[[Float]]] = []
            for level in Int32(0)...qk_detected_level() {
                #expect(qk_set_level(level) == level)
                results.append(try encoder.lastHiddenStates(sequences))
            }
            for result in results.dropFirst() {
                #expect(result.map { $0.map(\.bitPattern) } == results[0].map { $0.map(\.bitPattern) })
            }
        }

        /// The default is INT8 only where the INT8 product has a vector kernel (AVX2 and up),
        /// F32 at the portable level.
        @Test func defaultPrecisionFollowsTheKernelLevel() {
            let previous = qk_active_level()
            defer { qk_set_level(previous) }
            for level in Int32(0)...qk_detected_level() {
                #expect(qk_set_level(level) == level)
                #expect(WeightPrecision.fastestAccurate == (level == 0 ? .f32 : .int8), "level \(level)")
            }
        }
    }
}
