import QuarryIndex
import QuarrySchema
import QuarryStore

extension QuarryCollection {
    /// Indexes the attributes of every stored vector when the committed collection predates
    /// attribute indexes (schema version 2), and records version 3: a write's first step, so
    /// that what it writes next keeps the indexes exact.
    func indexAttributesIfMissing(_ txn: LMDBWriteTransaction, _ changes: AttributeChanges) throws {
        let manifest = try committedManifest(txn)
        guard manifest.schemaVersion < 3 || manifest.fields == nil else { return }
        try rebuildAttributes(txn, changes, catalogue: AttributeCatalogue(manifest))
    }

    /// Rebuilds the attribute indexes from the stored documents, indexing `declared` metadata
    /// fields too (besides those already indexed); returns the fields indexed. A field declared
    /// again must keep its kind.
    @discardableResult
    public func reindexAttributes(declaring declared: [AttributeField] = []) throws -> [AttributeField] {
        writerLock.lock()
        defer { writerLock.unlock() }
        let fields = try environment.write { txn in
            let manifest = try committedManifest(txn)
            var catalogue = AttributeCatalogue(manifest)
            var fields = catalogue.fields
            for field in declared {
                try Self.validateDeclared(field)
                if let known = fields.first(where: { $0.name == field.name }) {
                    guard known.kind == field.kind else {
                        throw QuarryError.invalidArgument(
                            "the field \"\(field.name)\" is indexed as \(known.kind.rawValue), not \(field.kind.rawValue)"
                        )
                    }
                } else {
                    fields.append(field)
                }
            }
            catalogue = AttributeCatalogue(fields: fields, infers: catalogue.infers)
            return try withAttributeChanges(txn) { changes in
                try rebuildAttributes(txn, changes, catalogue: catalogue)
            }
        }
        try refreshedState()
        return fields
    }

    /// Checks a metadata field declared for indexing.
    static func validateDeclared(_ field: AttributeField) throws {
        let name = field.name.dropFirst("metadata.".count)
        guard field.name.hasPrefix("metadata."), !name.isEmpty, field.name.utf8.count <= 256, !name.contains(".")
        else {
            throw QuarryError.invalidArgument(
                "a declared field is \"metadata.NAME\" for a top-level metadata field, got \"\(field.name)\"")
        }
    }

    /// Clears the attribute indexes and indexes every stored vector again under `catalogue`;
    /// records the catalogue (and schema version 3) in the manifest. Returns the fields indexed.
    @discardableResult
    private func rebuildAttributes(
        _ txn: LMDBWriteTransaction, _ changes: AttributeChanges, catalogue start: AttributeCatalogue
    ) throws -> [AttributeField] {
        var catalogue = start
        for database in [databases.attributes, databases.postings, databases.columns] { try txn.clear(database) }
        // Every live vector first (bare ones have no attributes), then each document's chunks.
        var ids: [UInt64] = []
        try txn.forEach(databases.idKeys) { key, _ in
            ids.append(try InternalID.decode(key))
            return true
        }
        for id in ids { try changes.set([], of: id) }
        var documentKeys: [String] = []
        try txn.forEach(databases.docs) { key, _ in
            documentKeys.append(TextKey.decode(key))
            return true
        }
        for key in documentKeys {
            guard let document = try storedDocument(txn, key: key) else { continue }
            let entries = catalogue.entries(of: document)
            for chunk in document.chunks.indices {
                let vectorKey = TextKey.chunk(document: key, chunk: chunk)
                guard let id = try txn.get(databases.keys, key: vectorKey).map(InternalID.decode) else { continue }
                try changes.set(entries, of: id)
            }
        }
        try updateManifest(txn) { manifest in
            manifest.schemaVersion = CollectionSchema.currentVersion
            manifest.fields = catalogue.fields
            manifest.infersFields = catalogue.infers
        }
        return catalogue.fields
    }
}
