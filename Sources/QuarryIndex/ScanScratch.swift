import CQuarryKernels
import QuarryBase

/// Codes one scan collected: prefilter distances and ids, in scan order.
final class CandidateBuffer {
    private(set) var distances = ScratchBuffer<UInt16>()
    private(set) var ids = ScratchBuffer<UInt64>()
    /// Where each candidate's code is (the cascade prefilter's second stage reads them).
    private(set) var codeAddresses = ScratchBuffer<UnsafePointer<UInt8>?>()
    private(set) var count = 0

    func removeAll() { count = 0 }

    /// Scores the codes of `block` against `query` and appends them; with `keeping`, only those
    /// of the ids it holds.
    func append(
        _ block: IVFBlock, query: PreparedQuery, prefilter: Prefilter, codeBytes: Int, keeping: IDBitmap? = nil
    ) {
        if let keeping, prefilter == .asymmetric {
            appendMatching(block, query: query, codeBytes: codeBytes, keeping: keeping)
            return
        }
        let start = count
        let needed = start + block.count
        distances.reserve(needed, preserving: start)
        ids.reserve(needed, preserving: start)
        let codes = block.codes.assumingMemoryBound(to: UInt8.self)
        let scored = distances.elements.baseAddress! + start
        switch prefilter {
        case .hamming, .cascade:
            query.code.withUnsafeBufferPointer { q in
                qk_hamming_batch(q.baseAddress, codes, codeBytes, block.count, scored)
            }
            if prefilter == .cascade {
                codeAddresses.reserve(needed, preserving: start)
                let addresses = codeAddresses.elements.baseAddress! + start
                for i in 0..<block.count { addresses[i] = UnsafePointer(codes + i * codeBytes) }
            }
        case .asymmetric:
            let planes = query.asymmetricPlanes
            planes.planes.withUnsafeBufferPointer { p in
                qk_asymmetric_distances_u16(
                    p.baseAddress, Int32(planes.count), planes.offset, planes.maximum, codes, codeBytes,
                    block.count, scored)
            }
        }
        block.copyIDs(to: ids.elements.baseAddress! + start)
        count = needed
        if let keeping { keepOnly(keeping, from: start, movingCodeAddresses: prefilter == .cascade) }
    }

    /// Appends the codes of `block` whose ids `keeping` holds, scored asymmetrically by
    /// gathering them: a selective filter's scan scores only the codes it keeps.
    private func appendMatching(_ block: IVFBlock, query: PreparedQuery, codeBytes: Int, keeping: IDBitmap) {
        let start = count
        let needed = start + block.count
        distances.reserve(needed, preserving: start)
        ids.reserve(needed, preserving: start)
        codeAddresses.reserve(needed, preserving: start)
        let codes = block.codes.assumingMemoryBound(to: UInt8.self)
        let (keptIDs, keptCodes) = (ids.elements.baseAddress!, codeAddresses.elements.baseAddress!)
        var kept = start
        for index in 0..<block.count {
            let id = block.id(at: index)
            guard keeping.contains(Int(id)) else { continue }
            keptIDs[kept] = id
            keptCodes[kept] = UnsafePointer(codes + index * codeBytes)
            kept += 1
        }
        let planes = query.asymmetricPlanes
        planes.planes.withUnsafeBufferPointer { p in
            qk_asymmetric_gather_distances_u16(
                p.baseAddress, Int32(planes.count), planes.offset, planes.maximum, keptCodes + start, codeBytes,
                kept - start, distances.elements.baseAddress! + start)
        }
        count = kept
    }

    /// Drops the candidates from position `start` on whose ids `keeping` does not hold (and,
    /// with `movingCodeAddresses`, their code addresses with them).
    private func keepOnly(_ keeping: IDBitmap, from start: Int, movingCodeAddresses: Bool) {
        let (candidateIDs, candidateDistances) = (ids.elements.baseAddress!, distances.elements.baseAddress!)
        let addresses = movingCodeAddresses ? codeAddresses.elements.baseAddress : nil
        var kept = start
        for position in start..<count where keeping.contains(Int(candidateIDs[position])) {
            candidateIDs[kept] = candidateIDs[position]
            candidateDistances[kept] = candidateDistances[position]
            addresses?[kept] = addresses![position]
            kept += 1
        }
        count = kept
    }

    /// Keeps only the candidates at `positions` (ascending), in that order, now at their
    /// asymmetric distances: the cascade's second stage, over codes its Hamming scan collected.
    func narrowToAsymmetric(_ positions: UnsafeBufferPointer<UInt32>, query: PreparedQuery, codeBytes: Int) {
        let (keptIDs, keptCodes) = (ids.elements.baseAddress!, codeAddresses.elements.baseAddress!)
        // Positions ascend, so each move goes to a slot at or before its source.
        for (slot, position) in positions.enumerated() {
            keptIDs[slot] = keptIDs[Int(position)]
            keptCodes[slot] = keptCodes[Int(position)]
        }
        let planes = query.asymmetricPlanes
        planes.planes.withUnsafeBufferPointer { p in
            qk_asymmetric_gather_distances_u16(
                p.baseAddress, Int32(planes.count), planes.offset, planes.maximum, keptCodes, codeBytes,
                positions.count, distances.elements.baseAddress!)
        }
        count = positions.count
    }
}

/// The scratch of one thread of a search: its share of the scan and of the selection.
final class ScanWorker {
    var candidates = CandidateBuffer()
    /// Counts of each prefilter distance among `candidates`.
    let histogram = ScratchBuffer<UInt32>(capacity: Int(UInt16.max) + 1)
    /// Positions in `candidates` of the selected codes: the first `selectedCount`.
    private(set) var selected = ScratchBuffer<UInt32>()
    private(set) var selectedCount = 0

    /// Replaces `histogram[0...maximumDistance]` with the counts of the candidates' distances.
    func countDistances(maximumDistance: Int) {
        let counts = histogram.elements.baseAddress!
        counts.update(repeating: 0, count: maximumDistance + 1)
        qk_histogram_u16(candidates.distances.elements.baseAddress, candidates.count, counts)
    }

    /// Keeps the positions of the candidates below `threshold` and of the first `ties` at it.
    func select(below threshold: Int, ties: Int) {
        selected.reserve(candidates.count)
        selectedCount = qk_select_below_u16(
            candidates.distances.elements.baseAddress, candidates.count, UInt32(threshold), ties,
            selected.elements.baseAddress)
    }

    /// The cascade's second stage: keeps the selected candidates, scored asymmetrically.
    func narrowSelectedToAsymmetric(query: PreparedQuery, codeBytes: Int) {
        candidates.narrowToAsymmetric(
            UnsafeBufferPointer(rebasing: selected.elements[..<selectedCount]), query: query, codeBytes: codeBytes)
    }
}
