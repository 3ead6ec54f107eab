import Foundation
import QuarryIndex
import Testing

/// Shapes and lengths read from a vector file are checked before any arithmetic on them.
@Suite struct VectorFileHardeningTests {
    /// A version-1 .npy file with `header` (padded) and `payload`.
    private func npy(header: String, payload: [UInt8] = []) -> Data {
        var text = Array(header.utf8)
        while (10 + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        let prefix: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
        return Data(prefix + text + payload)
    }

    private func problem(_ data: Data, path: String = "x.npy") -> String? {
        do {
            _ = try VectorFile(data: data, path: path)
            return nil
        } catch let error as VectorFileError {
            return error.problem
        } catch {
            return "\(error)"
        }
    }

    @Test func aShapeWhoseByteCountOverflowsIsAnError() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
        #expect(problem(npy(header: header))?.contains("too large") == true)
        let product = "{'descr': '|i1', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
        #expect(problem(npy(header: product))?.contains("too large") == true)
    }

    @Test func aHeaderOverTheLimitIsAnError() {
        // Version 2: a four-byte header length, here 2^31.
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0, 0, 0, 0, 0x80] + Array("{}".utf8)
        #expect(problem(Data(bytes))?.contains("over the limit") == true)
    }

    @Test func rowsOfNoElementsAreAnError() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 0), }"
        #expect(problem(npy(header: header))?.contains("no elements") == true)
        #expect(throws: VectorFileError.self) { _ = try NPYMatrix(data: npy(header: header), path: "x.npy") }
    }

    @Test func anImplausibleDimensionIsAnError() {
        let header = "{'descr': '|i1', 'fortran_order': False, 'shape': (0, 100000), }"
        #expect(problem(npy(header: header))?.contains("implausible dimension") == true)
    }

    @Test func aWellFormedFileFromMemoryReadsItsRows() throws {
        let header = "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }"
        let file = try VectorFile(data: npy(header: header, payload: [1, 2, 3, 0xFF, 0xFE, 0xFD]), path: "x.npy")
        #expect(file.count == 2 && file.dimension == 3)
        var row = [Float](repeating: 0, count: 3)
        row.withUnsafeMutableBufferPointer { file.floatRow(1, into: $0.baseAddress!) }
        #expect(row == [-1, -2, -3])
    }

    @Test func aVecsFileOfDifferingRecordsIsAnError() {
        var bytes: [UInt8] = []
        for dimension in [Int32(2), 3] {
            withUnsafeBytes(of: dimension.littleEndian) { bytes += $0 }
            bytes += [UInt8](repeating: 1, count: 2)
        }
        // Records of 4 + 2 bytes whose second one claims 3 dimensions.
        #expect(problem(Data(bytes), path: "x.bvecs")?.contains("differing") == true)
    }
}
