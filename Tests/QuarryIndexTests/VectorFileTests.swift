import Foundation
import QuarryIndex
import Testing

@Suite struct VectorFileTests {
    let directory: String = {
        let path = NSTemporaryDirectory() + "quarry-vf-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    @Test func npyRoundTripForEachType() throws {
        let floats: [Float] = [0.5, -1, 2, 3.25, 0, -0.125]
        try writeNPY(path: directory + "/f.npy", type: .float32, rows: 2, columns: 3, values: floats)
        let file = try VectorFile(path: directory + "/f.npy")
        #expect(file.count == 2 && file.dimension == 3 && file.elementType == .float32)
        var row = [Float](repeating: 0, count: 3)
        file.floatRow(1, into: &row)
        #expect(row == [3.25, 0, -0.125])

        let halves = floats.map { Float16($0).bitPattern }
        try writeNPY(path: directory + "/h.npy", type: .float16, rows: 3, columns: 2, values: halves)
        let half = try VectorFile(path: directory + "/h.npy")
        half.floatRow(2, into: &row)
        #expect(Array(row.prefix(2)) == [0, -0.125])

        let bytes: [Int8] = [1, -2, 3, -128]
        try writeNPY(path: directory + "/i.npy", type: .int8, rows: 2, columns: 2, values: bytes)
        let int8 = try VectorFile(path: directory + "/i.npy")
        #expect(!int8.isFloatingPoint)
        int8.floatRow(1, into: &row)
        #expect(Array(row.prefix(2)) == [3, -128])
    }

    @Test func fvecsAndBvecs() throws {
        var data = Data()
        for v in [[1.0, 2.0], [3.0, 4.0]] as [[Float]] {
            withUnsafeBytes(of: Int32(2)) { data.append(contentsOf: $0) }
            v.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try data.write(to: URL(fileURLWithPath: directory + "/a.fvecs"))
        let file = try VectorFile(path: directory + "/a.fvecs")
        #expect(file.count == 2 && file.dimension == 2)
        var row = [Float](repeating: 0, count: 2)
        file.floatRow(1, into: &row)
        #expect(row == [3, 4])
        try data.dropLast().write(to: URL(fileURLWithPath: directory + "/b.fvecs"))
        #expect(throws: VectorFileError.self) { try VectorFile(path: directory + "/b.fvecs") }
    }

    @Test func rejectsMalformedFiles() throws {
        try writeNPY(
            path: directory + "/ok.npy", type: .float32, rows: 4, columns: 8, values: [Float](repeating: 1, count: 32))
        let good = try Data(contentsOf: URL(fileURLWithPath: directory + "/ok.npy"))
        // Truncated payload.
        try good.dropLast(5).write(to: URL(fileURLWithPath: directory + "/short.npy"))
        #expect(throws: VectorFileError.self) { try VectorFile(path: directory + "/short.npy") }
        // Foreign file.
        try Data("hello, world, not numpy".utf8).write(to: URL(fileURLWithPath: directory + "/text.npy"))
        let foreign = #expect(throws: VectorFileError.self) { try VectorFile(path: directory + "/text.npy") }
        #expect(foreign?.problem.contains("not a .npy") == true)
        // Fortran order and unsupported types.
        let fortran = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "False", with: "True ")
        try Data(fortran.utf8).write(to: URL(fileURLWithPath: directory + "/fortran.npy"))
        #expect(throws: VectorFileError.self) { try VectorFile(path: directory + "/fortran.npy") }
        try writeNPY(path: directory + "/ints.npy", type: .int32, rows: 1, columns: 2, values: [Int32(1), 2])
        #expect(throws: VectorFileError.self) { try VectorFile(path: directory + "/ints.npy") }
        #expect(throws: VectorFileError.self) { try VectorFile(path: directory + "/missing.npy") }
    }

    @Test func findsNonFiniteRows() throws {
        var values = [Float](repeating: 0.1, count: 12)
        values[7] = .nan
        try writeNPY(path: directory + "/nan.npy", type: .float32, rows: 3, columns: 4, values: values)
        #expect(try VectorFile(path: directory + "/nan.npy").firstNonFiniteRow() == 1)
        values[7] = 0
        values[10] = -.infinity
        try writeNPY(path: directory + "/inf.npy", type: .float32, rows: 3, columns: 4, values: values)
        #expect(try VectorFile(path: directory + "/inf.npy").firstNonFiniteRow() == 2)
    }

    @Test func quantizationMatchesThePplxFormula() {
        let inputs: [Float] = [0, 0.5, -0.5, 3, -100, 0.003937, 100]
        var out = [Int8](repeating: 0, count: inputs.count)
        Int8Quantization.tanh.quantize(inputs, count: inputs.count, into: &out)
        let expected = inputs.map { Int8(max(-128, min(127, (tanh(Double($0)) * 127).rounded(.toNearestOrEven)))) }
        #expect(out == expected)
        #expect(out[4] == -127 && out[6] == 127)
        Int8Quantization.calibrated(scale: 10).quantize(inputs, count: inputs.count, into: &out)
        #expect(out == [0, 5, -5, 30, -127, 0, 127])
    }
}
