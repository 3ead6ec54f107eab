import CQuarryKernels

/// Codes one scan collected: prefilter distances and ids, in scan order.
final class CandidateBuffer {
    private(set) var distances: [UInt16] = []
    private(set) var ids: [UInt64] = []
    private(set) var count = 0

    func removeAll() { count = 0 }

    /// Scores the codes of `block` against `query` and appends them.
    func append(_ block: IVFBlock, query: PreparedQuery, prefilter: Prefilter, codeBytes: Int) {
        let needed = count + block.count
        if distances.count < needed {
            let capacity = max(needed, distances.count * 2)
            distances.append(contentsOf: repeatElement(0, count: capacity - distances.count))
            ids.append(contentsOf: repeatElement(0, count: capacity - ids.count))
        }
        let codes = block.codes.assumingMemoryBound(to: UInt8.self)
        let start = count
        switch prefilter {
        case .hamming:
            distances.withUnsafeMutableBufferPointer { d in
                query.code.withUnsafeBufferPointer { q in
                    qk_hamming_batch(q.baseAddress, codes, codeBytes, block.count, d.baseAddress! + start)
                }
            }
        case .asymmetric:
            distances.withUnsafeMutableBufferPointer { d in
                query.asymmetricPlanes.planes.withUnsafeBufferPointer { planes in
                    qk_asymmetric_distances_u16(
                        planes.baseAddress, Int32(query.asymmetricPlanes.count), query.asymmetricPlanes.offset,
                        query.asymmetricPlanes.maximum, codes,
                        codeBytes, block.count, d.baseAddress! + start)
                }
            }
        }
        ids.withUnsafeMutableBufferPointer { out in
            UnsafeMutableRawPointer(out.baseAddress! + start).copyMemory(from: block.ids, byteCount: 8 * block.count)
        }
        #if _endian(big)
            for i in start..<needed { ids[i] = UInt64(littleEndian: ids[i]) }
        #endif
        count = needed
    }
}

/// The scratch of one thread of a search: its share of the scan and of the selection.
final class ScanWorker {
    var candidates = CandidateBuffer()
    /// Counts of each prefilter distance among `candidates`.
    var histogram = [UInt32](repeating: 0, count: Int(UInt16.max) + 1)
    var selected: [UInt32] = []
    var selectedCount = 0

    /// Replaces `histogram[0...maximumDistance]` with the counts of the candidates' distances.
    func countDistances(maximumDistance: Int) {
        histogram.withUnsafeMutableBufferPointer { h in
            h.baseAddress!.update(repeating: 0, count: maximumDistance + 1)
            candidates.distances.withUnsafeBufferPointer {
                qk_histogram_u16($0.baseAddress, candidates.count, h.baseAddress)
            }
        }
    }

    /// Keeps the positions of the candidates below `threshold` and of the first `ties` at it.
    func select(below threshold: Int, ties: Int) {
        if selected.count < candidates.count { selected = [UInt32](repeating: 0, count: candidates.count) }
        selectedCount = candidates.distances.withUnsafeBufferPointer { d in
            selected.withUnsafeMutableBufferPointer { out in
                qk_select_below_u16(d.baseAddress, candidates.count, UInt32(threshold), ties, out.baseAddress)
            }
        }
    }
}
