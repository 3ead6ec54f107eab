import Foundation

/// The pplx-embed quantizations, exactly as the model card computes them from pooled vectors.
public enum EmbeddingQuantization {
    /// INT8: `clamp(round(tanh(x) * 127), -128, 127)` with round-half-to-even, as `torch.round`.
    public static func int8Tanh(_ vector: [Float]) -> [Int8] {
        vector.map { value in
            let rounded = (tanh(value) * 127).rounded(.toNearestOrEven)
            return Int8(min(max(rounded, -128), 127))
        }
    }

    /// Binary: `x >= 0 ? 1 : -1` (the model card's `quantize_binary`, as INT8 values).
    public static func binary(_ vector: [Float]) -> [Int8] {
        vector.map { $0 >= 0 ? 1 : -1 }
    }

    /// Bits of `x >= 0` packed most-significant bit first, as `numpy.packbits` does (the
    /// model card's / Hugging Face "ubinary" layout): bit 7 of byte 0 is dimension 0. A final
    /// partial byte is padded with zero bits.
    public static func packedBitsMSBFirst(_ vector: [Float]) -> [UInt8] {
        packBits(vector) { 7 - $0 }
    }

    /// Bits of `x >= 0` packed least-significant bit first, the byte layout of the Perplexity
    /// API's `base64_binary` encoding before base64: bit 0 of byte 0 is dimension 0.
    public static func packedBitsLSBFirst(_ vector: [Float]) -> [UInt8] {
        packBits(vector) { $0 }
    }

    private static func packBits(_ vector: [Float], shift: (Int) -> Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: (vector.count + 7) / 8)
        for (index, value) in vector.enumerated() where value >= 0 {
            bytes[index / 8] |= 1 << UInt8(shift(index % 8))
        }
        return bytes
    }
}
