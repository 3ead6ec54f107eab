import Foundation
import Testing

@testable import QuarryEmbed

@Suite struct QuantizationTests {
    @Test func int8RoundsHalfToEvenAndClamps() {
        // tanh(x) * 127 lands on x.5 for these inputs only approximately, so check the rule on
        // values whose scaled tanh is exact enough: 0 → 0, large → ±127.
        #expect(EmbeddingQuantization.int8Tanh([0, 50, -50, 0.5]) == [0, 127, -127, 59])
        #expect(EmbeddingQuantization.int8Tanh([-0.0]) == [0])
    }

    @Test func int8MatchesTorch() throws {
        // The probe's last 4 × 254 values sit next to rounding ties of tanh(x) * 127, where a
        // one-ulp difference between torch's and libm's tanh decides; the rest are random.
        let probe = try #require(try EncoderFixtures.json("tiny-qwen3-reference.json")["int8_probe"] as? [String: Any])
        let values = floats(probe["values"])
        let expected = integers(probe["int8"])
        let differences = zip(EmbeddingQuantization.int8Tanh(values), expected).map { abs(Int($0) - $1) }
        let randomCount = values.count - 4 * 254
        let offOnRandom = differences[..<randomCount].filter { $0 != 0 }.count
        let offNearTies = differences[randomCount...].filter { $0 != 0 }.count
        print(
            "INT8 vs torch: \(offOnRandom) of \(randomCount) random values and \(offNearTies) of \(4 * 254) near-tie values one step off"
        )
        #expect(differences.allSatisfy { $0 <= 1 })
        #expect(Double(offOnRandom) <= 0.001 * Double(randomCount))
    }

    @Test func binaryAndBitOrders() {
        let vector: [Float] = [1, -1, 0, -0.5, 2, 3, -2, -3, 0.1]
        #expect(EmbeddingQuantization.binary(vector) == [1, -1, 1, -1, 1, 1, -1, -1, 1])
        // bits: 1 0 1 0 1 1 0 0 | 1
        #expect(EmbeddingQuantization.packedBitsMSBFirst(vector) == [0b1010_1100, 0b1000_0000])
        #expect(EmbeddingQuantization.packedBitsLSBFirst(vector) == [0b0011_0101, 0b0000_0001])
    }

    @Test func matryoshkaTruncation() {
        let vector: [Float] = [3, 4, 12]
        #expect(Pooling.truncated(vector, dimensions: 2, renormalize: false) == [3, 4])
        #expect(Pooling.truncated(vector, dimensions: 2, renormalize: true) == [0.6, 0.8])
    }
}
