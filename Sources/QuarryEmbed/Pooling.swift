import Foundation

/// Turning token hidden states into vectors: mean pooling, late chunking, L2 normalisation and
/// Matryoshka truncation. Hidden states are `[tokens, width]` row-major.
public enum Pooling {
    /// Mean of the hidden states of all tokens given (the model card's `mean_pooling` over an
    /// attention mask of ones); no tokens give a zero vector.
    public static func mean(hiddenStates: [Float], width: Int) -> [Float] {
        precondition(width > 0 && hiddenStates.count % width == 0, "hidden states are not rows of \(width)")
        return hiddenStates.withUnsafeBufferPointer { states in
            mean(states.baseAddress!, rows: hiddenStates.count / width, width: width)
        }
    }

    /// Late chunking exactly as the model card's `extract_chunks_from_concatenated`, for one
    /// unpadded sequence: chunk `i` is the mean over the tokens between separator `i - 1` and
    /// separator `i` (separators excluded); the last chunk runs from the last separator to the
    /// end. Empty chunks (adjacent separators, or a trailing separator) are zero vectors.
    /// Returns one vector per separator plus one.
    public static func lateChunks(
        tokens: [Int32], hiddenStates: [Float], width: Int, separator: Int32
    ) -> [[Float]] {
        precondition(hiddenStates.count == tokens.count * width, "need one hidden state per token")
        return hiddenStates.withUnsafeBufferPointer { states in
            lateChunks(tokens: tokens[...], states: states.baseAddress!, width: width, separator: separator)
        }
    }

    /// `vector / ‖vector‖` (unchanged when the norm is zero).
    public static func l2Normalized(_ vector: [Float]) -> [Float] {
        var squares: Float = 0
        for value in vector { squares += value * value }
        guard squares > 0 else { return vector }
        let inverse = 1 / squares.squareRoot()
        return vector.map { $0 * inverse }
    }

    /// Matryoshka truncation: the first `dimensions` components, L2-normalised again when
    /// `renormalize` (use it for models whose output is normalised, not for pplx-embed).
    public static func truncated(_ vector: [Float], dimensions: Int, renormalize: Bool) -> [Float] {
        precondition(dimensions > 0, "dimensions must be positive")
        let prefix = Array(vector.prefix(dimensions))
        return renormalize ? l2Normalized(prefix) : prefix
    }

    static func mean(_ states: UnsafePointer<Float>, rows: Int, width: Int) -> [Float] {
        var sum = [Float](repeating: 0, count: width)
        guard rows > 0 else { return sum }
        sum.withUnsafeMutableBufferPointer { sum in
            for row in 0..<rows {
                let state = states + row * width
                for i in 0..<width { sum[i] += state[i] }
            }
            let count = Float(rows)
            for i in 0..<width { sum[i] /= count }
        }
        return sum
    }

    static func lateChunks(
        tokens: ArraySlice<Int32>, states: UnsafePointer<Float>, width: Int, separator: Int32
    ) -> [[Float]] {
        var chunks: [[Float]] = []
        var start = 0
        for (position, token) in tokens.enumerated() where token == separator {
            chunks.append(mean(states + start * width, rows: position - start, width: width))
            start = position + 1
        }
        chunks.append(mean(states + start * width, rows: tokens.count - start, width: width))
        return chunks
    }
}
