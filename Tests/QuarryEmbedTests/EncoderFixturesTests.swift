import Foundation
import Testing

@testable import QuarryEmbed

/// Fixture locations and comparison helpers shared by the encoder tests.
enum EncoderFixtures {
    static var directory: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    static func model(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
    precondition(a.count == b.count)
    var dot = 0.0, normA = 0.0, normB = 0.0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        normA += Double(x) * Double(x)
        normB += Double(y) * Double(y)
    }
    return normA == 0 && normB == 0 ? 1 : dot / (normA * normB).squareRoot()
}

func cosine(_ a: [Float], _ b: [Float]) -> Double { cosine(a[...], b[...]) }

func floats(_ value: Any?) -> [Float] { (value as? [Any] ?? []).map { Float(($0 as! NSNumber).doubleValue) } }

func integers(_ value: Any?) -> [Int] { (value as? [Any] ?? []).map { ($0 as! NSNumber).intValue } }

@Suite struct EncoderSafeTensorsTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes a safetensors file with `header` as its JSON header and `payload` as data.
    private func writeFile(_ url: URL, header: String, payload: [UInt8], declaredLength: UInt64? = nil) throws {
        var bytes = [UInt8]()
        var length = (declaredLength ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &length) { bytes += $0 }
        bytes += Array(header.utf8) + payload
        try Data(bytes).write(to: url)
    }

    @Test func convertsHalfAndBFloat16() throws {
        let url = try temporaryDirectory().appendingPathComponent("model.safetensors")
        // F16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal); BF16: 1.0, -3.0
        let header =
            #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}"#
        try writeFile(
            url, header: header, payload: [0x00, 0x3C, 0x00, 0xC0, 0xFF, 0x7B, 0x01, 0x00, 0x80, 0x3F, 0x40, 0xC0])
        let file = try SafeTensorsFile(path: url.path)
        let half = try #require(try file.tensor("h"))
        #expect(Array(UnsafeBufferPointer(start: half.values, count: 4)) == [1, -2, 65504, 0x1p-24])
        let brain = try #require(try file.tensor("b"))
        #expect(Array(UnsafeBufferPointer(start: brain.values, count: 2)) == [1, -3])
    }

    @Test func rejectsMalformedFiles() throws {
        let directory = try temporaryDirectory()
        let url = directory.appendingPathComponent("model.safetensors")
        try writeFile(url, header: "{}", payload: [], declaredLength: 1 << 40)
        #expect(throws: ModelLoadingError.self) { try SafeTensorsFile(path: url.path) }
        try writeFile(url, header: "[1, 2]", payload: [])
        #expect(throws: ModelLoadingError.self) { try SafeTensorsFile(path: url.path) }
        try writeFile(
            url, header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            payload: Array(repeating: 0, count: 8))
        #expect(throws: ModelLoadingError.self) { try SafeTensorsFile(path: url.path) }
        try writeFile(
            url, header: #"{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#,
            payload: Array(repeating: 0, count: 8))
        let file = try SafeTensorsFile(path: url.path)  // other dtypes may be present, just not used
        #expect(throws: ModelLoadingError.self) { try file.tensor("x") }
    }

    @Test func reportsMissingTensorsAndShapeMismatches() throws {
        let directory = try temporaryDirectory()
        try writeFile(
            directory.appendingPathComponent("model.safetensors"),
            header: #"{"embed_tokens.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            payload: Array(repeating: 0, count: 8))
        let store = try TensorStore(directory: directory, probe: "embed_tokens.weight", prefixes: ["", "model."])
        #expect(throws: ModelLoadingError.self) { try store.tensor("embed_tokens.weight", shape: [3]) }
        #expect(throws: ModelLoadingError.self) { try store.tensor("norm.weight", shape: [2]) }
        #expect(throws: ModelLoadingError.self) {
            try TensorStore(directory: directory, probe: "norm.weight", prefixes: ["", "model."])
        }
    }

    @Test func rejectsAWrongConfigShape() throws {
        // The tiny Qwen3 weights with a config claiming a wider model must fail on shapes.
        let directory = try temporaryDirectory()
        let source = EncoderFixtures.model("tiny-qwen3")
        try FileManager.default.copyItem(
            at: source.appendingPathComponent("model.safetensors"),
            to: directory.appendingPathComponent("model.safetensors"))
        let config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"intermediate_size\": 128", with: "\"intermediate_size\": 256")
            .write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        #expect(throws: ModelLoadingError.self) { try TransformerEncoder(modelDirectory: directory) }
    }
}
