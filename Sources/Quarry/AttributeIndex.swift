import CQuarryKernels
import QuarryIndex
import QuarrySchema
import QuarryStore

/// The attribute indexes as one transaction sees them: keyword postings and numeric columns
/// over internal ids, which a compiled filter turns into the set of ids it matches.
struct LMDBAttributeIndex<Transaction: LMDBReadTransaction>: AttributeSource {
    let txn: Transaction
    let postings: LMDBDatabase
    let columns: LMDBDatabase
    /// Ids are below this: the collection's next id.
    let idCount: Int

    func liveIDs() throws -> IDBitmap {
        var live = IDBitmap(count: idCount)
        try addPostings(field: PostingKey.liveField, value: [], to: &live)
        return live
    }

    func addKeywordMatches(field: Int, value: String, to bitmap: inout IDBitmap) throws {
        let bytes = Array(value.utf8)
        guard bytes.count <= PostingKey.maxValueBytes, let field = UInt16(exactly: field) else { return }
        try addPostings(field: field, value: bytes, to: &bitmap)
    }

    func addRangeMatches(field: Int, _ range: NumericRange, to bitmap: inout IDBitmap) throws {
        guard let field = UInt16(exactly: field) else { return }
        // Each segment's matches are gathered into words by one kernel call, then ORed in.
        // Exclusive bounds become inclusive ones a step inside.
        let lower = range.lowerInclusive ? range.lower : range.lower.nextUp
        let upper = range.upperInclusive ? range.upper : range.upper.nextDown
        var words = [UInt64](repeating: 0, count: ColumnSegment.capacity / 64)
        try txn.forEach(columns, prefix: ColumnKey.prefix(field: field)) { key, stored in
            let base = Int(try ColumnKey.segment(ofKey: key)) * ColumnSegment.capacity
            guard base < idCount else { return false }
            try ColumnSegment.validate(stored)
            let limit = min(ColumnSegment.capacity, idCount - base)
            words.withUnsafeMutableBufferPointer { target in
                target.update(repeating: 0)
                qk_range_mask_f64(stored.baseAddress, limit, lower, upper, target.baseAddress)
            }
            words.withUnsafeBytes { bitmap.formUnion(words: $0, atID: base) }
            return true
        }
    }

    /// Adds the ids in every chunk of `value` of `field` to `bitmap`.
    private func addPostings(field: UInt16, value: [UInt8], to bitmap: inout IDBitmap) throws {
        let prefix = PostingKey.prefix(field: field, value: value)
        try txn.forEach(postings, prefix: prefix) { key, stored in
            let base = Int(try PostingKey.chunk(ofKey: key, prefixCount: prefix.count)) * PostingChunk.idsPerChunk
            guard base < idCount else { return false }
            if PostingChunk.isDense(stored) {
                bitmap.formUnion(words: stored, atID: base)
            } else {
                // Checked, then ORed in (offsets past the bitmap are dropped there).
                var offsets: [UInt16] = []
                offsets.reserveCapacity(stored.count / 2)
                try PostingChunk.forEachSparseOffset(stored) { offsets.append(UInt16($0)) }
                offsets.withUnsafeBufferPointer { bitmap.insert(sortedOffsets: $0, base: base) }
            }
            return true
        }
    }
}

/// Changes to the attribute indexes made in one write transaction: each vector's record in
/// `attrs` is written at once, the postings and column segments they touch are gathered and
/// each written once by `flush()`.
final class AttributeChanges {
    private let txn: LMDBWriteTransaction
    private let databases: QuarryCollection.Databases
    private let path: String
    /// Per posting chunk key: the offsets set (true) and cleared (false), in call order.
    private var postingEdits: [[UInt8]: [(offset: Int, set: Bool)]] = [:]
    /// Per column segment key: the values written, in call order (NaN clears).
    private var columnEdits: [[UInt8]: [(offset: Int, value: Double)]] = [:]

    init(_ txn: LMDBWriteTransaction, databases: QuarryCollection.Databases, path: String) {
        self.txn = txn
        self.databases = databases
        self.path = path
    }

    /// Makes `entries` the attributes of the live vector `id` (replacing what it had).
    func set(_ entries: [AttributeRecord.Entry], of id: UInt64) throws {
        let old = try record(of: id)
        if let old, old == entries { return }
        if let old { edit(old, of: id, adding: false) } else { editLive(id, set: true) }
        edit(entries, of: id, adding: true)
        try txn.put(databases.attributes, key: InternalID.encode(id), value: AttributeRecord.encode(entries))
    }

    /// Takes vector `id` out of every attribute index.
    func remove(_ id: UInt64) throws {
        guard let old = try record(of: id) else { return }
        edit(old, of: id, adding: false)
        editLive(id, set: false)
        try txn.delete(databases.attributes, key: InternalID.encode(id))
    }

    /// Writes the gathered posting and column changes.
    func flush() throws {
        for (key, edits) in postingEdits {
            var words = [UInt64](repeating: 0, count: PostingChunk.wordCount)
            try words.withUnsafeMutableBufferPointer { buffer in
                if let stored = try txn.get(databases.postings, key: key) {
                    try corruptionNamed("a posting chunk") { try PostingChunk.addBits(of: stored, to: buffer) }
                }
                for edit in edits {
                    let bit: UInt64 = 1 << UInt64(edit.offset & 63)
                    if edit.set { buffer[edit.offset >> 6] |= bit } else { buffer[edit.offset >> 6] &= ~bit }
                }
            }
            let count = words.reduce(0) { $0 + $1.nonzeroBitCount }
            if count == 0 {
                try txn.delete(databases.postings, key: key)
            } else {
                try txn.put(
                    databases.postings, key: key,
                    value: words.withUnsafeBufferPointer { PostingChunk.encode(words: $0, count: count) })
            }
        }
        for (key, edits) in columnEdits {
            var values: [Double]
            if let stored = try txn.get(databases.columns, key: key) {
                values = try corruptionNamed("a column segment") { try ColumnSegment.decode(stored) }
            } else {
                values = [Double](repeating: .nan, count: ColumnSegment.capacity)
            }
            for edit in edits { values[edit.offset] = edit.value }
            if values.allSatisfy(\.isNaN) {
                try txn.delete(databases.columns, key: key)
            } else {
                try txn.put(databases.columns, key: key, value: ColumnSegment.encode(values))
            }
        }
        postingEdits.removeAll()
        columnEdits.removeAll()
    }

    /// The stored attribute record of `id`, or nil.
    private func record(of id: UInt64) throws -> [AttributeRecord.Entry]? {
        guard let stored = try txn.get(databases.attributes, key: InternalID.encode(id)) else { return nil }
        return try corruptionNamed("the attribute record of vector \(id)") { try AttributeRecord.decode(stored) }
    }

    private func edit(_ entries: [AttributeRecord.Entry], of id: UInt64, adding: Bool) {
        for entry in entries {
            switch entry.value {
            case .keyword(let value):
                editPosting(field: entry.field, value: value, id: id, set: adding)
            case .number(let number):
                let key = ColumnKey.encode(field: entry.field, segment: ColumnSegment.segment(of: id))
                columnEdits[key, default: []].append(
                    (Int(id % UInt64(ColumnSegment.capacity)), adding ? number : .nan))
            }
        }
    }

    private func editLive(_ id: UInt64, set: Bool) {
        editPosting(field: PostingKey.liveField, value: [], id: id, set: set)
    }

    private func editPosting(field: UInt16, value: [UInt8], id: UInt64, set: Bool) {
        let chunk = UInt32(id / UInt64(PostingChunk.idsPerChunk))
        let key = PostingKey.encode(field: field, value: value, chunk: chunk)
        postingEdits[key, default: []].append((Int(id % UInt64(PostingChunk.idsPerChunk)), set))
    }

    /// Runs `body`, reporting a `SchemaError` as the collection's corruption.
    private func corruptionNamed<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SchemaError {
            throw QuarryError.corrupt(path: path, reason: "\(what) is malformed: \(error.reason)")
        }
    }
}

extension QuarryCollection {
    /// The attribute indexes as `txn` sees them.
    func attributeIndex<Transaction: LMDBReadTransaction>(_ txn: Transaction) throws
        -> LMDBAttributeIndex<Transaction>
    {
        let next = try txn.get(databases.meta, key: Self.nextIDKey).map(InternalID.decode) ?? 0
        return LMDBAttributeIndex(
            txn: txn, postings: databases.postings, columns: databases.columns, idCount: Int(next))
    }

    /// Runs `body` with the attribute changes of `txn`, then writes them.
    func withAttributeChanges<T>(_ txn: LMDBWriteTransaction, _ body: (AttributeChanges) throws -> T) throws -> T {
        let changes = AttributeChanges(txn, databases: databases, path: path)
        let result = try body(changes)
        try changes.flush()
        return result
    }
}
