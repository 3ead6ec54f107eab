import Foundation

/// The encoder architectures Quarry runs.
public enum ModelArchitecture: String, Sendable {
    /// BERT-family encoders (all-MiniLM, BGE, E5...): post-LayerNorm, GELU, learned positions.
    case bert
    /// Qwen3 backbones used bidirectionally (pplx-embed-v1, pplx-embed-context-v1).
    case qwen3
}

/// Feed-forward activation functions named by `hidden_act`.
enum Activation: Sendable {
    case gelu  // the exact erf form
    case geluTanh  // the tanh approximation (gelu_new, gelu_pytorch_tanh)
    case silu
    case relu

    init(configName: String, path: String) throws {
        switch configName {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "silu", "swish": self = .silu
        case "relu": self = .relu
        default:
            throw ModelLoadingError.invalidConfig(path: path, reason: "unsupported hidden_act \(configName)")
        }
    }
}

/// Architecture hyper-parameters from a Hugging Face `config.json`.
public struct ModelConfig: Sendable {
    public let architecture: ModelArchitecture
    public let hiddenSize: Int
    public let layerCount: Int
    public let headCount: Int
    /// Key/value heads (grouped-query attention); equals `headCount` for BERT.
    public let keyValueHeadCount: Int
    public let headDimension: Int
    public let intermediateSize: Int
    public let vocabularySize: Int
    /// Longest sequence the position embeddings (BERT) or training context (Qwen3) cover.
    public let maxPositions: Int
    /// `layer_norm_eps` (BERT) or `rms_norm_eps` (Qwen3).
    public let normEpsilon: Float
    /// RoPE base frequency (Qwen3 only).
    public let ropeTheta: Float
    /// Number of token types (BERT only).
    public let typeVocabularySize: Int
    let activation: Activation

    /// Reads `config.json` in `directory`.
    public init(directory: URL) throws {
        let path = directory.appendingPathComponent("config.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelLoadingError.cannotOpen(path: path, reason: "file missing or unreadable")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelLoadingError.invalidConfig(path: path, reason: "not a JSON object")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = json[key] as? Int, value > 0 else {
                throw ModelLoadingError.invalidConfig(path: path, reason: "\(key) missing or not a positive integer")
            }
            return value
        }
        func number(_ key: String, default fallback: Double? = nil) throws -> Float {
            if let value = json[key] as? Double { return Float(value) }
            if let value = json[key] as? Int { return Float(value) }
            guard let fallback else {
                throw ModelLoadingError.invalidConfig(path: path, reason: "\(key) missing or not a number")
            }
            return Float(fallback)
        }
        let modelType = json["model_type"] as? String ?? "<missing>"
        guard let architecture = ModelArchitecture(rawValue: modelType) else {
            throw ModelLoadingError.unsupportedModel("model_type \(modelType) in \(path); supported: bert, qwen3")
        }
        self.architecture = architecture
        hiddenSize = try integer("hidden_size")
        layerCount = try integer("num_hidden_layers")
        headCount = try integer("num_attention_heads")
        intermediateSize = try integer("intermediate_size")
        vocabularySize = try integer("vocab_size")
        maxPositions = try integer("max_position_embeddings")
        let activationName = json["hidden_act"] as? String ?? (architecture == .bert ? "gelu" : "silu")
        activation = try Activation(configName: activationName, path: path)

        switch architecture {
        case .bert:
            keyValueHeadCount = headCount
            guard hiddenSize % headCount == 0 else {
                throw ModelLoadingError.invalidConfig(
                    path: path, reason: "hidden_size not divisible by num_attention_heads")
            }
            headDimension = hiddenSize / headCount
            normEpsilon = try number("layer_norm_eps", default: 1e-12)
            ropeTheta = 0
            typeVocabularySize = json["type_vocab_size"] as? Int ?? 2
            if let positions = json["position_embedding_type"] as? String, positions != "absolute" {
                throw ModelLoadingError.unsupportedModel("position_embedding_type \(positions) in \(path)")
            }
        case .qwen3:
            keyValueHeadCount = json["num_key_value_heads"] as? Int ?? headCount
            headDimension = json["head_dim"] as? Int ?? hiddenSize / headCount
            guard keyValueHeadCount > 0, headCount % keyValueHeadCount == 0 else {
                throw ModelLoadingError.invalidConfig(
                    path: path, reason: "num_attention_heads must be a multiple of num_key_value_heads")
            }
            normEpsilon = try number("rms_norm_eps", default: 1e-6)
            // transformers < 5 writes rope_theta/rope_scaling; 5.x writes rope_parameters.
            let ropeParameters = json["rope_parameters"] as? [String: Any]
            let scaling = json["rope_scaling"] as? [String: Any] ?? ropeParameters
            let ropeType = scaling?["rope_type"] as? String ?? scaling?["type"] as? String ?? "default"
            guard ropeType == "default" else {
                throw ModelLoadingError.unsupportedModel("RoPE scaling type \(ropeType) in \(path)")
            }
            if let theta = ropeParameters?["rope_theta"] as? Double {
                ropeTheta = Float(theta)
            } else {
                ropeTheta = try number("rope_theta", default: 10000)
            }
            guard json["use_sliding_window"] as? Bool != true else {
                throw ModelLoadingError.unsupportedModel("sliding-window attention in \(path)")
            }
            typeVocabularySize = 0
        }
    }
}

/// How sentence-transformers post-processes the encoder output, read from `modules.json`,
/// `1_Pooling/config.json` and `sentence_bert_config.json` when the directory has them.
struct SentenceTransformerSettings: Sendable {
    /// A `Normalize` module follows pooling (the vectors are L2-normalised).
    let normalizes: Bool
    /// `max_seq_length` from `sentence_bert_config.json` (MiniLM: 256).
    let maxSequenceLength: Int?

    init(directory: URL) throws {
        func json(_ relativePath: String) -> Any? {
            let url = directory.appendingPathComponent(relativePath)
            guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
            return try? JSONSerialization.jsonObject(with: data)
        }
        let modules = json("modules.json") as? [[String: Any]] ?? []
        normalizes = modules.contains { ($0["type"] as? String)?.hasSuffix(".Normalize") == true }
        maxSequenceLength = (json("sentence_bert_config.json") as? [String: Any])?["max_seq_length"] as? Int

        let poolingPath = modules.first { ($0["type"] as? String)?.hasSuffix(".Pooling") == true }?["path"]
        if let poolingPath = poolingPath as? String,
            let pooling = json(poolingPath + "/config.json") as? [String: Any]
        {
            let enabled = pooling.filter { $0.key.hasPrefix("pooling_mode_") && $0.value as? Bool == true }.map(\.key)
            guard enabled == ["pooling_mode_mean_tokens"] else {
                throw ModelLoadingError.unsupportedModel(
                    "pooling \(enabled.sorted()) in \(poolingPath)/config.json; only mean pooling is implemented")
            }
        }
    }
}
