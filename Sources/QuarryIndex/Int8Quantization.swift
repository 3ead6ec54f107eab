import Foundation

/// How float embeddings become the INT8 vectors an index stores.
public enum Int8Quantization: Sendable, Equatable, Codable {
    /// pplx-embed's native quantization: clamp(round(tanh(x) * 127), -128, 127).
    case tanh
    /// round(x * scale) clamped to -127...127, with `scale` calibrated on a sample so that the
    /// 99.9th percentile of |x| maps to 127 (for already-normalized embeddings of other models).
    case calibrated(scale: Float)

    /// Quantizes `count` floats.
    public func quantize(_ values: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Int8>) {
        switch self {
        case .tanh:
            for i in 0..<count {
                out[i] = Int8(max(-128, min(127, (Foundation.tanh(values[i]) * 127).rounded(.toNearestOrEven))))
            }
        case .calibrated(let scale):
            for i in 0..<count {
                out[i] = Int8(max(-127, min(127, (values[i] * scale).rounded(.toNearestOrEven))))
            }
        }
    }

    /// A calibrated quantization for the rows of `file`, measured on up to `sampleRows` rows
    /// spread evenly through it.
    public static func calibrate(on file: VectorFile, sampleRows: Int = 10_000) -> Int8Quantization {
        let rows = Swift.min(file.count, sampleRows)
        guard rows > 0 else { return .calibrated(scale: 127) }
        var magnitudes: [Float] = []  // signed; calibrate(floats:) takes magnitudes
        magnitudes.reserveCapacity(rows * file.dimension)
        var row = [Float](repeating: 0, count: file.dimension)
        for sample in 0..<rows {
            row.withUnsafeMutableBufferPointer { file.floatRow(sample * file.count / rows, into: $0.baseAddress!) }
            magnitudes.append(contentsOf: row)
        }
        return calibrate(floats: magnitudes)
    }
}

extension Int8Quantization {
    /// A calibrated quantization measured on in-memory float values.
    public static func calibrate(floats: [Float]) -> Int8Quantization {
        guard !floats.isEmpty else { return .calibrated(scale: 127) }
        var magnitudes = floats.map(abs)
        let rank = Swift.min(magnitudes.count - 1, Int(Double(magnitudes.count) * 0.999))
        let cut = quickSelect(&magnitudes, rank)
        return .calibrated(scale: cut > 0 ? 127 / cut : 127)
    }
}

/// The value of rank `rank` (0-based) among `values` in ascending order; reorders `values`.
func quickSelect(_ values: inout [Float], _ rank: Int) -> Float {
    var low = 0
    var high = values.count - 1
    while low < high {
        let pivot = values[(low + high) / 2]
        var i = low
        var j = high
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j {
                values.swapAt(i, j)
                i += 1
                j -= 1
            }
        }
        if rank <= j {
            high = j
        } else if rank >= i {
            low = i
        } else {
            break
        }
    }
    return values[rank]
}
