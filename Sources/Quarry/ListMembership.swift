import QuarryIndex
import QuarrySchema
import QuarryStore

/// Which posting lists hold each stored vector, as one transaction sees it: its first list is
/// in its vector record (`StoredVector.list`), a spilled second list under its id in the
/// `spills` database. Ingest, removal, integrity checks and list maintenance ask and change
/// membership here, and the lists themselves through `LMDBInvertedLists`.
struct LMDBListMembership<Transaction: LMDBReadTransaction> {
    let txn: Transaction
    let records: VectorRecords
    let spills: LMDBDatabase
    /// The collection's directory, for errors.
    let path: String

    /// The lists that hold `id`: nil when it has no vector record.
    func lists(of id: UInt64) throws -> (first: UInt32, second: UInt32?)? {
        guard let stored = try records.vector(id: id) else { return nil }
        return (stored.list, try secondList(of: id))
    }

    /// The spilled second list of `id`, or nil when it has none.
    func secondList(of id: UInt64) throws -> UInt32? {
        guard let value = try txn.get(spills, key: InternalID.encode(id)) else { return nil }
        guard let list = try? ListID.decode(value) else {
            throw QuarryError.corrupt(path: path, reason: "the spill record of vector \(id) is malformed")
        }
        return list
    }
}

extension LMDBListMembership where Transaction == LMDBWriteTransaction {
    /// Records `list` as the second list of `id`; `append` when `id` is above every id spilled
    /// so far (as a new vector's is), which LMDB writes without a search.
    func recordSecondList(_ list: UInt32, of id: UInt64, append: Bool) throws {
        try txn.put(spills, key: InternalID.encode(id), value: ListID.encode(list), append: append)
    }

    /// Forgets the second list of `id`, if it had one.
    func forgetSecondList(of id: UInt64) throws {
        try txn.delete(spills, key: InternalID.encode(id))
    }
}

extension QuarryCollection {
    /// The list membership of the vectors of dimension `dimension` as `txn` sees it.
    func listMembership<Transaction: LMDBReadTransaction>(
        _ txn: Transaction, dimension: Int
    ) -> LMDBListMembership<Transaction> {
        LMDBListMembership(
            txn: txn, records: VectorRecords(txn: txn, database: databases.vectors, dimension: dimension),
            spills: databases.spills, path: path)
    }
}
