import Foundation

/// One post-LayerNorm BERT encoder layer's weights.
private struct BertLayer: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let attentionOutput: Linear
    let attentionNormWeight: Tensor
    let attentionNormBias: Tensor
    let intermediate: Linear
    let output: Linear
    let outputNormWeight: Tensor
    let outputNormBias: Tensor
}

/// BERT: word + position + token-type embeddings and LayerNorm, then per layer
/// self-attention → dense + residual → LayerNorm → GELU feed-forward + residual → LayerNorm.
/// Every input is one segment (token type 0), positions count from 0 in each sequence.
struct BertNetwork: EncoderNetwork {
    private let config: ModelConfig
    private let shape: AttentionShape
    private let wordEmbeddings: Tensor
    private let positionEmbeddings: Tensor
    private let tokenTypeEmbeddings: Tensor
    private let embeddingNormWeight: Tensor
    private let embeddingNormBias: Tensor
    private let layers: [BertLayer]

    init(store: TensorStore, config: ModelConfig, precision: WeightPrecision) throws {
        self.config = config
        shape = AttentionShape(
            heads: config.headCount, keyValueHeads: config.headCount, headDimension: config.headDimension)
        let hidden = config.hiddenSize
        // Old checkpoints name LayerNorm parameters gamma/beta.
        func norm(_ prefix: String) throws -> (Tensor, Tensor) {
            (
                try store.tensor(anyOf: [prefix + ".weight", prefix + ".gamma"], shape: [hidden]),
                try store.tensor(anyOf: [prefix + ".bias", prefix + ".beta"], shape: [hidden])
            )
        }
        wordEmbeddings = try store.tensor("embeddings.word_embeddings.weight", shape: [config.vocabularySize, hidden])
        positionEmbeddings = try store.tensor(
            "embeddings.position_embeddings.weight", shape: [config.maxPositions, hidden])
        tokenTypeEmbeddings = try store.tensor(
            "embeddings.token_type_embeddings.weight", shape: [config.typeVocabularySize, hidden])
        (embeddingNormWeight, embeddingNormBias) = try norm("embeddings.LayerNorm")
        layers = try (0..<config.layerCount).map { index in
            let prefix = "encoder.layer.\(index)."
            let attentionNorm = try norm(prefix + "attention.output.LayerNorm")
            let outputNorm = try norm(prefix + "output.LayerNorm")
            return BertLayer(
                query: try Linear(
                    store, prefix + "attention.self.query", inputSize: hidden, outputSize: hidden, precision: precision),
                key: try Linear(
                    store, prefix + "attention.self.key", inputSize: hidden, outputSize: hidden, precision: precision),
                value: try Linear(
                    store, prefix + "attention.self.value", inputSize: hidden, outputSize: hidden, precision: precision),
                attentionOutput: try Linear(
                    store, prefix + "attention.output.dense", inputSize: hidden, outputSize: hidden,
                    precision: precision),
                attentionNormWeight: attentionNorm.0, attentionNormBias: attentionNorm.1,
                intermediate: try Linear(
                    store, prefix + "intermediate.dense", inputSize: hidden, outputSize: config.intermediateSize,
                    precision: precision),
                output: try Linear(
                    store, prefix + "output.dense", inputSize: config.intermediateSize, outputSize: hidden,
                    precision: precision),
                outputNormWeight: outputNorm.0, outputNormBias: outputNorm.1)
        }
    }

    func forward(_ batch: PackedSequences) -> HiddenStates {
        let tokenCount = batch.tokenCount
        let hidden = config.hiddenSize
        let epsilon = config.normEpsilon
        let result = HiddenStates(tokenCount: tokenCount, width: hidden)
        let states = result.storage.pointer
        let positions = batch.positions
        for (row, token) in batch.tokens.enumerated() {
            let target = states + row * hidden
            let word = wordEmbeddings.values + Int(token) * hidden
            let position = positionEmbeddings.values + Int(positions[row]) * hidden
            let tokenType = tokenTypeEmbeddings.values
            for i in 0..<hidden { target[i] = word[i] + tokenType[i] + position[i] }
        }
        layerNorm(
            states, rows: tokenCount, width: hidden, weight: embeddingNormWeight,
            bias: embeddingNormBias, epsilon: epsilon)

        let queries = scratchBuffer(tokenCount * hidden)
        defer { queries.deallocate() }
        let keys = scratchBuffer(tokenCount * hidden)
        defer { keys.deallocate() }
        let values = scratchBuffer(tokenCount * hidden)
        defer { values.deallocate() }
        let attended = scratchBuffer(tokenCount * hidden)
        defer { attended.deallocate() }
        let intermediate = scratchBuffer(tokenCount * config.intermediateSize)
        defer { intermediate.deallocate() }
        let scoreCapacity = TransformerEncoder.scoreCapacity(longest: batch.longest)
        let scores = scratchBuffer(scoreCapacity)
        defer { scores.deallocate() }

        for layer in layers {
            layer.query.apply(states, rows: tokenCount, into: queries)
            layer.key.apply(states, rows: tokenCount, into: keys)
            layer.value.apply(states, rows: tokenCount, into: values)
            for sequence in 0..<batch.count {
                let offset = batch.range(of: sequence).lowerBound * hidden
                attend(
                    queries: queries + offset, keys: keys + offset, values: values + offset,
                    output: attended + offset, length: batch.range(of: sequence).count, shape: shape,
                    scores: scores, scoreCapacity: scoreCapacity)
            }
            layer.attentionOutput.apply(attended, rows: tokenCount, into: states, accumulate: true)
            layerNorm(
                states, rows: tokenCount, width: hidden, weight: layer.attentionNormWeight,
                bias: layer.attentionNormBias, epsilon: epsilon)
            layer.intermediate.apply(states, rows: tokenCount, into: intermediate)
            activate(intermediate, count: tokenCount * config.intermediateSize, config.activation)
            layer.output.apply(intermediate, rows: tokenCount, into: states, accumulate: true)
            layerNorm(
                states, rows: tokenCount, width: hidden, weight: layer.outputNormWeight,
                bias: layer.outputNormBias, epsilon: epsilon)
        }
        return result
    }
}
