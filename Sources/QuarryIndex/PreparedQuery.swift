import CQuarryKernels

/// A query rounded to a few bits a dimension and stored as bit planes, for asymmetric scoring
/// against 1-bit codes (`qk_asymmetric_batch`).
public struct QueryPlanes: Sendable {
    /// The unsigned values u = q' + offset, plane by plane (least significant first), each plane
    /// packed like the codes.
    public let planes: [UInt8]
    public let count: Int
    /// The bias of the unsigned plane values: 2^(count - 1).
    public let offset: Int32
    /// The largest score any code can reach: the sum of the positive q' values. Distances are
    /// this minus the score, in 0...`range`.
    public let maximum: Int32
    /// The sum of |q'|: the span of possible scores.
    public let range: Int32

    /// Rounds `values` to `bits` bits a dimension (q' = round(q / 2^(8 - bits)), clamped).
    public init(_ values: [Int8], bits: Int) {
        precondition((1...8).contains(bits))
        count = bits
        offset = Int32(1 << (bits - 1))
        let codeBytes = IVFLayout.codeBytes(dimension: values.count)
        var planes = [UInt8](repeating: 0, count: bits * codeBytes)
        var maximum: Int32 = 0
        var range: Int32 = 0
        values.withUnsafeBufferPointer { v in
            planes.withUnsafeMutableBufferPointer { out in
                qk_query_planes(v.baseAddress, values.count, Int32(bits), codeBytes, out.baseAddress, &maximum, &range)
            }
        }
        self.planes = planes
        self.maximum = maximum
        self.range = range
    }
}

/// A query prepared for scanning: INT8 values, norm, 1-bit code and bit planes.
public struct PreparedQuery: Sendable {
    public let values: [Int8]
    public let norm: Float
    public let code: [UInt8]
    /// The query at as many bits a dimension as keep every distance within UInt16 for the
    /// counting selection (6 at 1,024 dimensions): the asymmetric prefilter's planes.
    public let asymmetricPlanes: QueryPlanes
    /// Prepares an INT8 query vector.
    public init(int8 values: [Int8]) {
        self.values = values
        var sumOfSquares: Int64 = 0
        for v in values { sumOfSquares += Int64(v) * Int64(v) }
        norm = Float(Double(sumOfSquares).squareRoot())
        var code = [UInt8](repeating: 0, count: IVFLayout.codeBytes(dimension: values.count))
        values.withUnsafeBufferPointer { v in
            code.withUnsafeMutableBufferPointer { qk_pack_signs_i8(v.baseAddress, values.count, $0.baseAddress) }
        }
        self.code = code
        var bits = 8
        while bits > 1 && ((1 << bits) - 1) * values.count > Int(UInt16.max) { bits -= 1 }
        asymmetricPlanes = QueryPlanes(values, bits: bits)
    }
}
