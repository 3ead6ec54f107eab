import Foundation
import QuarryIndex
import QuarrySchema
import QuarryStore

/// What `QuarryCollection.checkIntegrity` found.
public struct IntegrityReport: Sendable, Codable {
    /// Keys of stored vectors (chunk vectors included).
    public var vectors = 0
    public var documents = 0
    /// Posting-list entries over all lists.
    public var listEntries = 0
    /// Vectors kept in a second list too (spilling).
    public var spilledVectors = 0
    /// Each inconsistency found, in words (at most `problemLimit`); empty when consistent.
    public var problems: [String] = []
    /// Inconsistencies found in all (`problems` lists the first few).
    public var problemCount = 0

    /// Problems listed in full; more are only counted.
    public static let problemLimit = 20

    public var isConsistent: Bool { problemCount == 0 }

    mutating func note(_ problem: String) {
        if problemCount < Self.problemLimit { problems.append(problem) }
        problemCount += 1
    }
}

extension QuarryCollection {
    /// Checks, in one snapshot, that the stored state is whole: every key has an internal id
    /// that maps back to it and a vector record; every vector is in exactly its own list (and,
    /// with spilling, its second list) once; no list holds an id without a key; the list
    /// entries number the vectors (plus the spilled ones); every chunk of every stored
    /// document has its vector. A state left by a write cut short at any point passes.
    public func checkIntegrity() throws -> IntegrityReport {
        let manifest = self.manifest
        let dimension = manifest.dimension
        let codeBytes = IVFLayout.codeBytes(dimension: dimension)
        return try environment.read { txn in
            var report = IntegrityReport()
            let membership = listMembership(txn, dimension: dimension)
            // Internal id → the lists it must appear in, with a count of appearances found.
            var expected: [UInt64: (primary: UInt32, secondary: UInt32?, seen: Int)] = [:]
            try txn.forEach(databases.keys) { key, value in
                report.vectors += 1
                let keyText = TextKey.decode(key)
                guard let id = try? InternalID.decode(value) else {
                    report.note("key '\(keyText)' holds a malformed id")
                    return true
                }
                guard let back = try txn.get(databases.idKeys, key: InternalID.encode(id)), back.elementsEqual(key)
                else {
                    report.note("key '\(keyText)' has id \(id), which does not map back to it")
                    return true
                }
                guard let first = try membership.records.vector(id: id)?.list else {
                    report.note("key '\(keyText)' (id \(id)) has no vector record")
                    return true
                }
                if Int(first) >= manifest.listCount {
                    report.note("vector \(id) names list \(first) of \(manifest.listCount)")
                }
                var second: UInt32?
                do {
                    second = try membership.secondList(of: id)
                } catch let error as QuarryError where error.kind == .corrupt {
                    report.note("the spill record of vector \(id) is malformed")
                }
                if second != nil { report.spilledVectors += 1 }
                expected[id] = (first, second, 0)
                return true
            }
            let idKeyCount = try txn.entryCount(databases.idKeys)
            if idKeyCount != report.vectors {
                let keyCount = report.vectors
                report.note("\(idKeyCount) ids have keys but \(keyCount) keys are stored")
            }
            try txn.forEach(databases.lists) { key, value in
                guard let list = try? BlockKey.decode(key).list,
                    let block = IVFBlock(bytes: value, codeBytes: codeBytes)
                else {
                    report.note("a posting-list block is malformed")
                    return true
                }
                for index in 0..<block.count {
                    report.listEntries += 1
                    let id = block.id(at: index)
                    guard let entry = expected[id] else {
                        report.note("list \(list) holds id \(id), which has no key")
                        continue
                    }
                    if list != entry.primary && list != entry.secondary {
                        report.note("list \(list) holds id \(id), which belongs to list \(entry.primary)")
                    }
                    expected[id]!.seen += 1
                }
                return true
            }
            for (id, entry) in expected where entry.seen != (entry.secondary == nil ? 1 : 2) {
                report.note("vector \(id) appears \(entry.seen) times in the posting lists")
            }
            if report.listEntries != report.vectors + report.spilledVectors {
                let counts = (report.listEntries, report.vectors, report.spilledVectors)
                report.note("\(counts.0) list entries for \(counts.1) vectors (\(counts.2) spilled)")
            }
            try txn.forEach(databases.docs) { key, _ in
                report.documents += 1
                let documentKey = TextKey.decode(key)
                guard let document = try? storedDocument(txn, key: documentKey) else {
                    report.note("the record of document '\(documentKey)' is unreadable")
                    return true
                }
                for chunk in document.chunks.indices {
                    if try txn.get(databases.keys, key: TextKey.chunk(document: documentKey, chunk: chunk)) == nil {
                        report.note("chunk \(chunk) of document '\(documentKey)' has no vector")
                    }
                }
                return true
            }
            return report
        }
    }

    /// The INT8 vector stored under `key`, or nil.
    public func storedVector(key: String) throws -> [Int8]? {
        let dimension = loadedManifest.dimension
        return try environment.read { txn in
            guard
                let id = try txn.get(databases.keys, key: TextKey.encode(key)).flatMap({ try? InternalID.decode($0) }),
                let stored = try VectorRecords(txn: txn, database: databases.vectors, dimension: dimension).vector(
                    id: id)
            else { return nil }
            return Array(UnsafeBufferPointer(start: stored.values, count: dimension))
        }
    }
}
