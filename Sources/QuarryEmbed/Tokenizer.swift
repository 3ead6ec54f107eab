import Foundation

/// Turns text into the token ids an encoder consumes.
public protocol Tokenizer: Sendable {
    /// Token ids of `text` with no special tokens added around it. Special tokens written
    /// literally in the text (such as `<|endoftext|>` or `[SEP]`) map to their ids.
    func encode(_ text: String) -> [Int32]
    /// Ids placed before every sequence the model sees (BERT: `[CLS]`; Qwen: none).
    var prefixTokens: [Int32] { get }
    /// Ids placed after every sequence the model sees (BERT: `[SEP]`; Qwen: none).
    var suffixTokens: [Int32] { get }
    /// The separator that joins chunks for late chunking (Qwen: `<|endoftext|>` = 151643).
    var separatorToken: Int32 { get }
    /// The id used to pad batches.
    var padToken: Int32 { get }
}
