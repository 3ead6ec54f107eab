import Foundation
import QuarrySchema
import QuarryStore

extension QuarryCollection {
    func storedDocument(_ txn: LMDBReadTransaction, key: String) throws -> StoredDocument? {
        // No document can have a longer key; asking LMDB would fail.
        guard !key.isEmpty, key.utf8.count <= Self.maxKeyBytes else { return nil }
        guard let bytes = try txn.get(databases.docs, key: TextKey.encode(key)) else { return nil }
        do {
            return try StoredDocument.decodeStored(bytes, key: key, path: path)
        } catch let error as QuarryError {
            throw error
        } catch {
            throw QuarryError.corrupt(
                path: path, reason: "the record of document '\(QuarryError.abbreviated(key))' does not decode: \(error)"
            )
        }
    }

    /// Removes the vector stored under `key` and the key itself; false when there is none.
    @discardableResult
    func removeKeyedVector(_ txn: LMDBWriteTransaction, key: [UInt8]) throws -> Bool {
        guard !key.isEmpty, key.count <= Self.maxKeyBytes else { return false }
        guard let id = try txn.get(databases.keys, key: key).map(InternalID.decode) else {
            return false
        }
        try removeVector(txn, id: id)
        try txn.delete(databases.keys, key: key)
        return true
    }

    /// The stored document with `key`, or nil.
    public func document(key: String) throws -> StoredDocument? {
        try environment.read { txn in try storedDocument(txn, key: key) }
    }

    /// The number of stored documents.
    public func documentCount() throws -> Int { try environment.entryCount(databases.docs) }

    /// Deletes documents (their records and every chunk vector) or bare vectors by key, in one
    /// transaction. Returns the keys that matched nothing.
    @discardableResult
    public func delete(keys: [String]) throws -> [String] {
        writerLock.lock()
        defer { writerLock.unlock() }
        return try environment.write { txn in
            var missing: [String] = []
            for key in keys {
                if let document = try storedDocument(txn, key: key) {
                    for chunk in document.chunks.indices {
                        try removeKeyedVector(txn, key: TextKey.chunk(document: key, chunk: chunk))
                    }
                    try txn.delete(databases.docs, key: TextKey.encode(key))
                } else if try !removeKeyedVector(txn, key: TextKey.encode(key)) {
                    missing.append(key)
                }
            }
            return missing
        }
    }

    /// Searches and resolves hits to documents. With `byDocument`, chunk hits are folded to the
    /// best chunk per document and `k` documents are returned. The stored fields of the hits may
    /// add up to `maxResultBytes` (text and metadata counted as stored); beyond that the search
}
