import Foundation
import QuarryIndex

extension FuzzTarget {
    /// `.npy`, `.fvecs` and `.bvecs`: the header or record layout, then every row read.
    static let vectorFileTargets: [FuzzTarget] = [
        FuzzTarget("npy", ".npy header and payload (NPYMatrix, VectorFile)") { data, _ in
            let matrix = try NPYMatrix(data: data, path: "fuzz.npy")
            if matrix.elementType == .int32 || matrix.elementType == .int64 {
                _ = try matrix.integerRows()
            } else {
                try readRows(of: VectorFile(data: data, path: "fuzz.npy"))
            }
        },
        FuzzTarget("fvecs", ".fvecs records (VectorFile)") { data, _ in
            try readRows(of: VectorFile(data: data, path: "fuzz.fvecs"))
        },
        FuzzTarget("bvecs", ".bvecs records (VectorFile)") { data, _ in
            try readRows(of: VectorFile(data: data, path: "fuzz.bvecs"))
        },
    ]

    /// Converts every row of `file` to Float and looks for non-finite values.
    private static func readRows(of file: VectorFile) {
        var row = [Float](repeating: 0, count: file.dimension)
        row.withUnsafeMutableBufferPointer { out in
            for index in 0..<file.count { file.floatRow(index, into: out.baseAddress!) }
        }
        _ = file.firstNonFiniteRow()
    }
}
