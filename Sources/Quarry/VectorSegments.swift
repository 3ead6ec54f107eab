import Foundation
import QuarryIndex
import QuarrySchema
import QuarryStore

/// INT8 vector records live in segments (`VectorSegment`): one LMDB value per 4,096 consecutive
/// internal ids, their records back to back. A value that large sits in contiguous overflow
/// pages, so a record's address is the segment's address plus an offset: rescoring a
/// candidate costs no B-tree descent once its segment is known, and a search looks each
/// segment up at most once. Records are written once; a removed vector's slot stays (dead,
/// no longer in any posting list or key table) until the collection is rebuilt.
extension QuarryCollection {
    /// Appends the records of consecutive new ids `firstID...` (`records` holds them back to
    /// back, `recordBytes` each) to their segments.
    func appendRecords(_ txn: LMDBWriteTransaction, firstID: UInt64, records: [UInt8], recordBytes: Int) throws {
        let count = records.count / recordBytes
        var written = 0
        while written < count {
            let id = firstID + UInt64(written)
            let slot = VectorSegment.slot(of: id)
            let take = min(count - written, Int(VectorSegment.capacity) - slot)
            let key = SegmentKey.encode(holding: id)
            let existing = try txn.get(databases.vectors, key: key).map { [UInt8]($0) } ?? []
            guard existing.count == slot * recordBytes else {
                throw QuarryError.notACollection(
                    path: path, reason: "vector segment \(VectorSegment.segment(of: id)) holds a malformed record run")
            }
            let destination = try txn.reserve(databases.vectors, key: key, count: (slot + take) * recordBytes)
            existing.withUnsafeBytes { destination.copyMemory(from: $0) }
            records.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: destination[(slot * recordBytes)...]).copyMemory(
                    from: UnsafeRawBufferPointer(
                        rebasing: source[(written * recordBytes)..<((written + take) * recordBytes)]))
            }
            written += take
        }
    }
}

/// Values found by number (a record segment's address, a posting list's blocks) in one LMDB
/// snapshot. A search keeps these with its searcher, so later read transactions that see the
/// same snapshot skip the look-ups: at 1M vectors a top-10 search otherwise spends about a
/// seventh of its time finding the segments of the 120 candidates it rescores, and a twentieth
/// walking the B-tree to its six lists.
final class SnapshotMemo<Value> {
    private var snapshot: LMDBSnapshot?
    /// By number; nil where not looked up yet.
    private var values: [Value?] = []

    /// Forgets every value unless `snapshot` is the one they were found in (a write
    /// transaction has none, so what it finds is never kept past it).
    func use(in snapshot: LMDBSnapshot?) {
        guard snapshot == nil || snapshot != self.snapshot else { return }
        self.snapshot = snapshot
        values.removeAll(keepingCapacity: true)
    }

    subscript(number: Int) -> Value? {
        get { number < values.count ? values[number] : nil }
        set {
            if number >= values.count {
                values.append(contentsOf: repeatElement(nil, count: number + 1 - values.count))
            }
            values[number] = newValue
        }
    }
}

/// Where each record segment starts in the map.
typealias SegmentAddresses = SnapshotMemo<UnsafeRawBufferPointer>

/// Finds vector records by internal id inside one transaction, remembering each segment's
/// address the first time it is needed (in `segments`, which may carry them over from an
/// earlier read transaction of the same snapshot).
struct VectorRecords {
    let txn: LMDBReadTransaction
    let database: LMDBDatabase
    let dimension: Int
    private let segments: SegmentAddresses

    init(
        txn: LMDBReadTransaction, database: LMDBDatabase, dimension: Int,
        segments: SegmentAddresses = SegmentAddresses()
    ) {
        self.txn = txn
        self.database = database
        self.dimension = dimension
        self.segments = segments
        segments.use(in: txn.snapshot)
    }

    /// The record of `id`, or nil when no record was ever written for it.
    func vector(id: UInt64) throws -> StoredVector? {
        guard let address = try address(id: id) else { return nil }
        let recordBytes = IVFLayout.vectorRecordBytes(dimension: dimension)
        return StoredVector(bytes: UnsafeRawBufferPointer(start: address, count: recordBytes), dimension: dimension)
    }

    /// Where the record of `id` starts in the map, without reading it.
    func address(id: UInt64) throws -> UnsafeRawPointer? {
        let segment = Int(VectorSegment.segment(of: id))
        let bytes: UnsafeRawBufferPointer
        if let cached = segments[segment] {
            bytes = cached
        } else {
            guard let found = try txn.get(database, key: SegmentKey.encode(segment: UInt64(segment))) else {
                return nil
            }
            segments[segment] = found
            bytes = found
        }
        let recordBytes = IVFLayout.vectorRecordBytes(dimension: dimension)
        let start = VectorSegment.slot(of: id) * recordBytes
        guard start + recordBytes <= bytes.count else { return nil }
        return bytes.baseAddress! + start
    }
}
