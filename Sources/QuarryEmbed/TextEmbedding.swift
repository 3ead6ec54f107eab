import Foundation

/// Something that turns texts into vectors: the local `Embedder`, or an embedding server
/// (`RemoteEmbedder`). A document ingest chunks text with `tokenizer` so that every chunk fits
/// `maxTokens`, and embeds the chunks with `embed`.
public protocol TextEmbedding: Sendable {
    /// The tokenizer of the model, used to size chunks and batches.
    var tokenizer: any Tokenizer { get }
    /// Longest sequence embedded in one piece, special tokens included.
    var maxTokens: Int { get }
    /// Width of the vectors `embed` returns.
    var dimension: Int { get }
    /// Whether the vectors are L2-normalised.
    var normalizes: Bool { get }
    /// The encoder architecture, when known (pplx-embed's Qwen3 vectors are quantized with tanh).
    var architecture: ModelArchitecture? { get }
    /// One vector per text, in order.
    func embed(_ texts: [String], progress: ((EmbeddingProgress) -> Void)?) throws -> [[Float]]
    /// Late chunking: one vector per chunk of each document (see `Embedder.embedContextual`).
    func embedContextual(_ documents: [[String]], progress: ((EmbeddingProgress) -> Void)?) throws -> [[[Float]]]
}

extension TextEmbedding {
    /// One vector per text, in order.
    public func embed(_ texts: [String]) throws -> [[Float]] { try embed(texts, progress: nil) }
}

extension Embedder: TextEmbedding {
    public var architecture: ModelArchitecture? { modelType }
}

/// Loads a tokenizer from a model directory (as `loadTokenizer(modelDirectory:)`) or from one
/// file: a `tokenizer.json` or a `*.tiktoken` ranks file.
public func loadTokenizer(path: String) throws -> any Tokenizer {
    var isDirectory: ObjCBool = false
    let url = URL(fileURLWithPath: path).standardizedFileURL
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw TokenizerLoadingError.unreadable(file: url, reason: "no such file or directory")
    }
    if isDirectory.boolValue { return try loadTokenizer(modelDirectory: url) }
    if url.pathExtension == "tiktoken" { return try BPETokenizer(tiktokenFile: url) }
    let json = try TokenizerJSON(contentsOf: url)
    switch json.modelType {
    case "BPE": return try BPETokenizer(tokenizerJSON: json)
    case "WordPiece": return try WordPieceTokenizer(tokenizerJSON: json)
    case let other:
        throw TokenizerLoadingError.unsupported(file: url, reason: "model type \(other) (supported: BPE, WordPiece)")
    }
}

/// The window of the model whose tokenizer is at `path` (a directory or a file in one):
/// sentence-transformers' `max_seq_length`, else `max_position_embeddings`, else the
/// tokenizer's `model_max_length`, else 512.
public func modelWindow(tokenizerPath path: String) -> Int {
    var isDirectory: ObjCBool = false
    var directory = URL(fileURLWithPath: path).standardizedFileURL
    if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
        directory.deleteLastPathComponent()
    }
    func value(_ file: String, _ key: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let number = json[key] as? Int, number >= 8, number <= 1 << 20
        else { return nil }
        return number
    }
    return value("sentence_bert_config.json", "max_seq_length") ?? value("config.json", "max_position_embeddings")
        ?? value("tokenizer_config.json", "model_max_length") ?? 512
}
