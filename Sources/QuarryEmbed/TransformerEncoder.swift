import Foundation
import QuarryBase

/// Token sequences laid end to end with no padding. The encoders run every dense layer over
/// all tokens of the batch at once and attention within each sequence.
struct PackedSequences {
    let tokens: [Int32]
    /// `offsets[i]..<offsets[i + 1]` are the tokens of sequence `i`.
    let offsets: [Int]

    init(_ sequences: [[Int32]]) {
        var tokens: [Int32] = []
        tokens.reserveCapacity(sequences.reduce(0) { $0 + $1.count })
        var offsets = [0]
        for sequence in sequences {
            tokens += sequence
            offsets.append(tokens.count)
        }
        self.tokens = tokens
        self.offsets = offsets
    }

    var count: Int { offsets.count - 1 }
    var tokenCount: Int { tokens.count }
    func range(of sequence: Int) -> Range<Int> { offsets[sequence]..<offsets[sequence + 1] }
    var longest: Int { (0..<count).map { range(of: $0).count }.max() ?? 0 }

    /// Position of every token within its own sequence (0, 1, 2, ... restarting per sequence).
    var positions: [Int32] {
        var positions = [Int32](repeating: 0, count: tokenCount)
        for sequence in 0..<count {
            for (position, token) in range(of: sequence).enumerated() { positions[token] = Int32(position) }
        }
        return positions
    }
}

/// Last hidden states of a packed batch: `[tokenCount, width]` row-major.
final class HiddenStates {
    let storage: FloatStorage
    let width: Int

    init(tokenCount: Int, width: Int) {
        storage = FloatStorage(count: tokenCount * width)
        self.width = width
    }

    /// The hidden state of token `row` of the batch.
    func row(_ row: Int) -> UnsafePointer<Float> { UnsafePointer(storage.pointer + row * width) }
}

/// Uninitialised scratch memory for `count` floats; the caller deallocates it.
func scratchBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
    .allocate(capacity: max(count, 1))
}

/// A network forward pass over packed sequences.
protocol EncoderNetwork: Sendable {
    func forward(_ batch: PackedSequences) -> HiddenStates
}

/// Errors raised by the forward pass.
public enum EncoderError: Error, CustomStringConvertible {
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    case sequenceTooLong(length: Int, maxPositions: Int)

    public var description: String {
        switch self {
        case .tokenOutOfRange(let token, let size): "token id \(token) outside the vocabulary of \(size)"
        case .sequenceTooLong(let length, let max):
            "sequence of \(length) tokens exceeds the model's \(max) positions; truncate or split it first"
        }
    }
}

/// A BERT or Qwen3 encoder loaded from a Hugging Face model directory (`config.json` plus
/// `model.safetensors` or a sharded checkpoint), computing in F32 whatever the stored dtype,
/// with the dense layers' weights in F32, BF16 or INT8 (`WeightPrecision`).
public final class TransformerEncoder: Sendable {
    public let config: ModelConfig
    /// How the dense layers' weights are held.
    public let weights: WeightPrecision
    let network: any EncoderNetwork

    /// Loads the weights in `modelDirectory`, the dense layers' in `weights` precision; the
    /// architecture comes from its `config.json`.
    public init(modelDirectory: URL, weights: WeightPrecision = .f32) throws {
        config = try ModelConfig(directory: modelDirectory)
        self.weights = weights
        switch config.architecture {
        case .bert:
            let store = try TensorStore(
                directory: modelDirectory, probe: "embeddings.word_embeddings.weight", prefixes: ["", "bert."])
            network = try BertNetwork(store: store, config: config, precision: weights)
        case .qwen3:
            let store = try TensorStore(
                directory: modelDirectory, probe: "embed_tokens.weight", prefixes: ["", "model."])
            network = try Qwen3Network(store: store, config: config, precision: weights)
        }
    }

    /// Width of the hidden states (and of mean-pooled embeddings).
    public var hiddenSize: Int { config.hiddenSize }

    /// Last hidden states of each sequence, `[length * hiddenSize]` row-major, computed in one
    /// packed pass with no padding. Sequences are used as given (no special tokens added).
    public func lastHiddenStates(_ sequences: [[Int32]]) throws -> [[Float]] {
        let batch = try pack(sequences)
        let states = network.forward(batch)
        return withExtendedLifetime(states) {
            (0..<batch.count).map { sequence in
                let range = batch.range(of: sequence)
                return Array(UnsafeBufferPointer(start: states.row(range.lowerBound), count: range.count * hiddenSize))
            }
        }
    }

    /// Last hidden states of each packed batch. Several batches are encoded concurrently, one
    /// per thread on up to `encoderThreads` threads, with single-threaded matrix products.
    func forward(_ batches: [PackedSequences]) -> [HiddenStates] {
        guard batches.count > 1 else { return batches.map(network.forward) }
        var results = [HiddenStates?](repeating: nil, count: batches.count)
        results.withUnsafeMutableBufferPointer { results in
            withSingleThreadedBLAS {
                let parts = min(encoderThreads, batches.count)
                concurrently(parts) { part in
                    for index in stride(from: part, to: batches.count, by: parts) {
                        results[index] = network.forward(batches[index])
                    }
                }
            }
        }
        return results.map { $0! }
    }

    /// Packs `sequences` after checking their ids and lengths.
    func pack(_ sequences: [[Int32]]) throws -> PackedSequences {
        for sequence in sequences {
            guard sequence.count <= config.maxPositions else {
                throw EncoderError.sequenceTooLong(length: sequence.count, maxPositions: config.maxPositions)
            }
            if let bad = sequence.first(where: { $0 < 0 || Int($0) >= config.vocabularySize }) {
                throw EncoderError.tokenOutOfRange(token: bad, vocabularySize: config.vocabularySize)
            }
        }
        return PackedSequences(sequences)
    }

    /// Room for attention scores: whole `length × length` blocks up to 4M floats (16 MB).
    static func scoreCapacity(longest: Int) -> Int {
        max(longest, min(longest * longest, 1 << 22))
    }
}
