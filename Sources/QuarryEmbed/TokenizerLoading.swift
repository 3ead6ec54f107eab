import Foundation

/// Why a tokenizer could not be loaded.
public enum TokenizerLoadingError: Error, CustomStringConvertible, Equatable {
    /// The directory has none of the files a tokenizer can be loaded from.
    case noTokenizerFiles(directory: URL)
    /// A file could not be read.
    case unreadable(file: URL, reason: String)
    /// A file was read but its content is not what it should be.
    case malformed(file: URL, reason: String)
    /// The file is valid but describes a tokenizer Quarry does not implement.
    case unsupported(file: URL, reason: String)

    public var description: String {
        switch self {
        case .noTokenizerFiles(let directory):
            return "no tokenizer in \(directory.path): expected tokenizer.json, vocab.txt or a *.tiktoken ranks file "
                + "(run scripts/fetch-models.sh to download the default models)"
        case .unreadable(let file, let reason):
            return "cannot read \(file.path): \(reason)"
        case .malformed(let file, let reason):
            return "malformed tokenizer file \(file.path): \(reason)"
        case .unsupported(let file, let reason):
            return "unsupported tokenizer in \(file.path): \(reason)"
        }
    }
}

/// Loads the tokenizer of the model in `modelDirectory`:
/// - `tokenizer.json`: by its model type, `BPE` (byte-level, Qwen2/Qwen3 pre-tokenization) or
///   `WordPiece` (BERT);
/// - otherwise `vocab.txt`: BERT WordPiece, lowercasing unless tokenizer_config.json sets
///   `do_lower_case` to false;
/// - otherwise a `*.tiktoken` ranks file: Qwen byte-level BPE with Qwen's added tokens.
public func loadTokenizer(modelDirectory: URL) throws -> any Tokenizer {
    let fileManager = FileManager.default
    let tokenizerJSON = modelDirectory.appendingPathComponent("tokenizer.json")
    if fileManager.fileExists(atPath: tokenizerJSON.path) {
        let json = try TokenizerJSON(contentsOf: tokenizerJSON)
        switch json.modelType {
        case "BPE":
            return try BPETokenizer(tokenizerJSON: json)
        case "WordPiece":
            return try WordPieceTokenizer(tokenizerJSON: json)
        case let other:
            throw TokenizerLoadingError.unsupported(
                file: tokenizerJSON, reason: "model type \(other) (supported: BPE, WordPiece)")
        }
    }
    let vocabularyFile = modelDirectory.appendingPathComponent("vocab.txt")
    if fileManager.fileExists(atPath: vocabularyFile.path) {
        return try WordPieceTokenizer(
            vocabularyFile: vocabularyFile,
            lowercases: try lowercasingSetting(in: modelDirectory) ?? true)
    }
    let contents = (try? fileManager.contentsOfDirectory(atPath: modelDirectory.path)) ?? []
    if let ranksFile = contents.filter({ $0.hasSuffix(".tiktoken") }).sorted().first {
        return try BPETokenizer(tiktokenFile: modelDirectory.appendingPathComponent(ranksFile))
    }
    throw TokenizerLoadingError.noTokenizerFiles(directory: modelDirectory)
}

/// `do_lower_case` from the directory's tokenizer_config.json, if the file sets it.
private func lowercasingSetting(in modelDirectory: URL) throws -> Bool? {
    let configFile = modelDirectory.appendingPathComponent("tokenizer_config.json")
    guard FileManager.default.fileExists(atPath: configFile.path) else { return nil }
    let object = try JSONObject.parse(contentsOf: configFile)
    return object["do_lower_case"] as? Bool
}

/// Reads a file, turning Foundation's error into a `TokenizerLoadingError`.
func readTokenizerFile(_ file: URL) throws -> Data {
    do {
        return try Data(contentsOf: file)
    } catch {
        throw TokenizerLoadingError.unreadable(file: file, reason: error.localizedDescription)
    }
}

/// Untyped JSON parsing with errors that name the file.
enum JSONObject {
    static func parse(contentsOf file: URL) throws -> [String: Any] {
        let data = try readTokenizerFile(file)
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerLoadingError.malformed(file: file, reason: "invalid JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw TokenizerLoadingError.malformed(file: file, reason: "the top level is not a JSON object")
        }
        return object
    }
}

/// The parts of a Hugging Face tokenizer.json that Quarry's tokenizers read.
struct TokenizerJSON {
    let file: URL
    let model: [String: Any]
    let modelType: String
    let normalizer: [String: Any]?
    let preTokenizer: [String: Any]?
    let addedTokens: [AddedToken]

    init(contentsOf file: URL) throws {
        let root = try JSONObject.parse(contentsOf: file)
        self.file = file
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerLoadingError.malformed(file: file, reason: "no \"model\" object")
        }
        self.model = model
        // Older files have no model type; their WordPiece or BPE shows in the other fields.
        if let type = model["type"] as? String {
            modelType = type
        } else if model["merges"] != nil {
            modelType = "BPE"
        } else if model["continuing_subword_prefix"] != nil || model["max_input_chars_per_word"] != nil {
            modelType = "WordPiece"
        } else {
            throw TokenizerLoadingError.malformed(file: file, reason: "the model has no \"type\"")
        }
        normalizer = root["normalizer"] as? [String: Any]
        preTokenizer = root["pre_tokenizer"] as? [String: Any]
        var addedTokens: [AddedToken] = []
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = entry["id"] as? Int, let content = entry["content"] as? String else {
                throw TokenizerLoadingError.malformed(file: file, reason: "an added token without id or content")
            }
            guard let tokenID = Int32(exactly: id), tokenID >= 0 else {
                throw TokenizerLoadingError.malformed(
                    file: file, reason: "added token \(content.debugDescription) has id \(id), outside 0...\(Int32.max)"
                )
            }
            addedTokens.append(
                AddedToken(content: content, id: tokenID, isSpecial: entry["special"] as? Bool ?? false))
        }
        self.addedTokens = addedTokens
    }

    /// `model.vocab` as a token → id dictionary, every id in 0...Int32.max.
    func vocabulary() throws -> [String: Int] {
        guard let vocabulary = model["vocab"] as? [String: Int] else {
            throw TokenizerLoadingError.malformed(file: file, reason: "model.vocab is not an object of token ids")
        }
        if let (token, id) = vocabulary.first(where: { Int32(exactly: $0.value) == nil || $0.value < 0 }) {
            throw TokenizerLoadingError.malformed(
                file: file, reason: "token \(token.debugDescription) has id \(id), outside 0...\(Int32.max)")
        }
        return vocabulary
    }

    /// Error for a setting Quarry does not implement.
    func unsupported(_ reason: String) -> TokenizerLoadingError {
        .unsupported(file: file, reason: reason)
    }

    /// Error for content that breaks the format.
    func malformed(_ reason: String) -> TokenizerLoadingError {
        .malformed(file: file, reason: reason)
    }

    /// The steps of a normalizer or pre-tokenizer, with `Sequence`s flattened; `key` names the
    /// list inside a sequence ("normalizers" or "pretokenizers").
    static func components(
        of component: [String: Any]?, key: String
    ) -> [[String: Any]] {
        guard let component else { return [] }
        if component["type"] as? String == "Sequence" {
            return (component[key] as? [[String: Any]] ?? []).flatMap { components(of: $0, key: key) }
        }
        return [component]
    }
}
