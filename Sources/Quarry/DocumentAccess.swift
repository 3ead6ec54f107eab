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
    func removeKeyedVector(_ txn: LMDBWriteTransaction, key: [UInt8], attributes: AttributeChanges) throws -> Bool {
        guard !key.isEmpty, key.count <= Self.maxKeyBytes else { return false }
        guard let id = try txn.get(databases.keys, key: key).map(InternalID.decode) else {
            return false
        }
        try removeVector(txn, id: id, attributes: attributes)
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
            try withAttributeChanges(txn) { attributes in
                try indexAttributesIfMissing(txn, attributes)
                var missing: [String] = []
                for key in keys {
                    if let document = try storedDocument(txn, key: key) {
                        for chunk in document.chunks.indices {
                            try removeKeyedVector(
                                txn, key: TextKey.chunk(document: key, chunk: chunk), attributes: attributes)
                        }
                        try txn.delete(databases.docs, key: TextKey.encode(key))
                    } else if try !removeKeyedVector(txn, key: TextKey.encode(key), attributes: attributes) {
                        missing.append(key)
                    }
                }
                return missing
            }
        }
    }
}
