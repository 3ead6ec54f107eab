import Foundation

/// One Qwen3 decoder layer's weights.
private struct Qwen3Layer: Sendable {
    let inputNorm: Tensor
    let query: Linear
    let key: Linear
    let value: Linear
    let output: Linear
    let queryNorm: Tensor
    let keyNorm: Tensor
    let postAttentionNorm: Tensor
    let gate: Linear
    let up: Linear
    let down: Linear
}

/// Qwen3 run as a bidirectional encoder (pplx-embed): token embedding, then per layer
/// RMSNorm → q/k/v → per-head RMSNorm on q and k → RoPE → grouped-query attention with no
/// causal mask → o_proj + residual → RMSNorm → SwiGLU MLP + residual; a final RMSNorm.
struct Qwen3Network: EncoderNetwork {
    private let config: ModelConfig
    private let shape: AttentionShape
    private let embeddings: Tensor
    private let layers: [Qwen3Layer]
    private let finalNorm: Tensor
    /// RoPE inverse frequencies `1 / theta^(2i/d)`, computed in F32 as transformers does.
    private let inverseFrequencies: [Float]

    init(store: TensorStore, config: ModelConfig, precision: WeightPrecision) throws {
        self.config = config
        shape = AttentionShape(
            heads: config.headCount, keyValueHeads: config.keyValueHeadCount, headDimension: config.headDimension)
        let hidden = config.hiddenSize
        let d = config.headDimension
        embeddings = try store.tensor("embed_tokens.weight", shape: [config.vocabularySize, hidden])
        layers = try (0..<config.layerCount).map { index in
            let prefix = "layers.\(index)."
            return Qwen3Layer(
                inputNorm: try store.tensor(prefix + "input_layernorm.weight", shape: [hidden]),
                query: try Linear(
                    store, prefix + "self_attn.q_proj", inputSize: hidden, outputSize: config.headCount * d,
                    precision: precision),
                key: try Linear(
                    store, prefix + "self_attn.k_proj", inputSize: hidden, outputSize: config.keyValueHeadCount * d,
                    precision: precision),
                value: try Linear(
                    store, prefix + "self_attn.v_proj", inputSize: hidden, outputSize: config.keyValueHeadCount * d,
                    precision: precision),
                output: try Linear(
                    store, prefix + "self_attn.o_proj", inputSize: config.headCount * d, outputSize: hidden,
                    precision: precision),
                queryNorm: try store.tensor(prefix + "self_attn.q_norm.weight", shape: [d]),
                keyNorm: try store.tensor(prefix + "self_attn.k_norm.weight", shape: [d]),
                postAttentionNorm: try store.tensor(prefix + "post_attention_layernorm.weight", shape: [hidden]),
                gate: try Linear(
                    store, prefix + "mlp.gate_proj", inputSize: hidden, outputSize: config.intermediateSize,
                    precision: precision),
                up: try Linear(
                    store, prefix + "mlp.up_proj", inputSize: hidden, outputSize: config.intermediateSize,
                    precision: precision),
                down: try Linear(
                    store, prefix + "mlp.down_proj", inputSize: config.intermediateSize, outputSize: hidden,
                    precision: precision))
        }
        finalNorm = try store.tensor("norm.weight", shape: [hidden])
        let theta = config.ropeTheta
        inverseFrequencies = (0..<d / 2).map { i in 1 / pow(theta, Float(2 * i) / Float(d)) }
    }

    func forward(_ batch: PackedSequences) -> HiddenStates {
        let tokenCount = batch.tokenCount
        let hidden = config.hiddenSize
        let d = shape.headDimension
        let epsilon = config.normEpsilon
        let result = HiddenStates(tokenCount: tokenCount, width: hidden)
        let residual = result.storage.pointer
        for (row, token) in batch.tokens.enumerated() {
            (residual + row * hidden).update(from: embeddings.values + Int(token) * hidden, count: hidden)
        }

        let normed = scratchBuffer(tokenCount * hidden)
        defer { normed.deallocate() }
        let queries = scratchBuffer(tokenCount * shape.queryWidth)
        defer { queries.deallocate() }
        let keys = scratchBuffer(tokenCount * shape.keyValueWidth)
        defer { keys.deallocate() }
        let values = scratchBuffer(tokenCount * shape.keyValueWidth)
        defer { values.deallocate() }
        let attended = scratchBuffer(tokenCount * shape.queryWidth)
        defer { attended.deallocate() }
        let gate = scratchBuffer(tokenCount * config.intermediateSize)
        defer { gate.deallocate() }
        let up = scratchBuffer(tokenCount * config.intermediateSize)
        defer { up.deallocate() }
        let scoreCapacity = TransformerEncoder.scoreCapacity(longest: batch.longest)
        let scores = scratchBuffer(scoreCapacity)
        defer { scores.deallocate() }
        let rotation = RotaryTable(inverseFrequencies: inverseFrequencies, length: batch.longest)
        let positions = batch.positions

        for layer in layers {
            rmsNorm(residual, into: normed, rows: tokenCount, width: hidden, weight: layer.inputNorm, epsilon: epsilon)
            layer.query.apply(normed, rows: tokenCount, into: queries)
            layer.key.apply(normed, rows: tokenCount, into: keys)
            layer.value.apply(normed, rows: tokenCount, into: values)
            rmsNorm(
                queries, into: queries, rows: tokenCount * shape.heads, width: d,
                weight: layer.queryNorm, epsilon: epsilon)
            rmsNorm(
                keys, into: keys, rows: tokenCount * shape.keyValueHeads, width: d,
                weight: layer.keyNorm, epsilon: epsilon)
            rotation.apply(to: queries, heads: shape.heads, positions: positions)
            rotation.apply(to: keys, heads: shape.keyValueHeads, positions: positions)
            for sequence in 0..<batch.count {
                let range = batch.range(of: sequence)
                attend(
                    queries: queries + range.lowerBound * shape.queryWidth,
                    keys: keys + range.lowerBound * shape.keyValueWidth,
                    values: values + range.lowerBound * shape.keyValueWidth,
                    output: attended + range.lowerBound * shape.queryWidth,
                    length: range.count, shape: shape, scores: scores, scoreCapacity: scoreCapacity)
            }
            layer.output.apply(attended, rows: tokenCount, into: residual, accumulate: true)

            rmsNorm(
                residual, into: normed, rows: tokenCount, width: hidden,
                weight: layer.postAttentionNorm, epsilon: epsilon)
            layer.gate.apply(normed, rows: tokenCount, into: gate)
            layer.up.apply(normed, rows: tokenCount, into: up)
            gatedActivation(
                gate: gate, up: up, count: tokenCount * config.intermediateSize,
                config.activation)
            layer.down.apply(gate, rows: tokenCount, into: residual, accumulate: true)
        }
        rmsNorm(residual, into: residual, rows: tokenCount, width: hidden, weight: finalNorm, epsilon: epsilon)
        return result
    }
}

/// RoPE cos/sin for positions `0..<length`, applied with the rotate-half convention of
/// Qwen/LLaMA: the pairs are (x[i], x[i + d/2]).
private struct RotaryTable {
    let half: Int
    let cosines: [Float]
    let sines: [Float]

    init(inverseFrequencies: [Float], length: Int) {
        half = inverseFrequencies.count
        var cosines = [Float](repeating: 0, count: length * half)
        var sines = [Float](repeating: 0, count: length * half)
        for position in 0..<length {
            for i in 0..<half {
                let angle = Float(position) * inverseFrequencies[i]
                cosines[position * half + i] = cos(angle)
                sines[position * half + i] = sin(angle)
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates every head of every token in `values` (`[tokens, heads, 2 * half]`) by its position.
    func apply(to values: UnsafeMutablePointer<Float>, heads: Int, positions: [Int32]) {
        let d = 2 * half
        cosines.withUnsafeBufferPointer { cosines in
            sines.withUnsafeBufferPointer { sines in
                for (token, position) in positions.enumerated() {
                    let c = cosines.baseAddress! + Int(position) * half
                    let s = sines.baseAddress! + Int(position) * half
                    for head in 0..<heads {
                        let x = values + (token * heads + head) * d
                        for i in 0..<half {
                            let first = x[i]
                            let second = x[i + half]
                            x[i] = first * c[i] - second * s[i]
                            x[i + half] = second * c[i] + first * s[i]
                        }
                    }
                }
            }
        }
    }
}
