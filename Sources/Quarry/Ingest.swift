import CQuarryKernels
import Foundation
import QuarryIndex
import QuarrySchema
import QuarryStore

/// How `ingest` turns float input into INT8.
public enum QuantizationChoice: String, Sendable, CaseIterable {
    /// clamp(round(tanh(x) * 127)), as pplx-embed.
    case tanh
    /// A scale calibrated on a sample of the input.
    case calibrated
}

/// Settings of one ingest.
public struct IngestOptions: Sendable {
    /// Quantization of float input; nil keeps the collection's (tanh for a new collection).
    public var quantization: QuantizationChoice?
    /// Vectors per write transaction.
    public var batchSize = 20_000
    /// Vectors sampled to train the coarse quantizer; nil: 32 per list, at least 20,000.
    public var trainingSampleSize: Int?
    /// k-means iterations.
    public var trainingIterations = 8
    /// Receives progress lines.
    public var progress: (@Sendable (String) -> Void)?
    public init() {}
}

/// What an ingest did, with the time spent in each phase.
public struct IngestReport: Sendable, Codable {
    public var added = 0
    public var replaced = 0
    public var unchanged = 0
    public var trainSeconds = 0.0
    public var assignSeconds = 0.0
    public var writeSeconds = 0.0
}

extension QuarryCollection {
    /// Adds or replaces vectors by external key. Input is validated before anything is written;
    /// then the coarse quantizer is trained if the collection has none, and vectors are written
    /// in batches, each one transaction. Re-running an interrupted ingest skips the vectors
    /// already stored unchanged under their keys, so it resumes where the last batch ended.
    /// Another process may write to the collection meanwhile: if it trained the collection
    /// first, its centroids are used.
    /// - Parameter keys: one external key per row; nil: the row numbers.
    /// - Parameter attributes: one per row, the fields filters see (nil: none).
    @discardableResult
    public func ingest(
        vectors file: VectorFile, keys: [String]? = nil, attributes: [VectorAttributes]? = nil,
        options: IngestOptions = .init()
    ) throws -> IngestReport {
        try options.validate()
        writerLock.lock()
        defer { writerLock.unlock() }
        var state = try refreshedState()
        let dimension = state.manifest.dimension
        guard file.dimension == dimension else {
            throw QuarryError.dimensionMismatch(expected: dimension, found: file.dimension, source: file.path)
        }
        if let row = file.firstNonFiniteRow() { throw QuarryError.nonFiniteValue(source: file.path, row: row) }
        if let keys { try Self.validate(keys: keys, rows: file.count) }
        if let attributes, attributes.count != file.count {
            throw QuarryError.invalidArgument(
                "the attributes file has \(attributes.count) lines for \(file.count) vectors")
        }
        guard file.count > 0 else { return IngestReport() }

        var report = IngestReport()
        let clock = ContinuousClock()
        if state.manifest.listCount == 0 {
            let started = clock.now
            let quantization = try chooseQuantization(
                for: file, requested: options.quantization, existing: state.manifest.quantization)
            state = try train(on: file, quantization: quantization, manifest: state.manifest, options: options)
            report.trainSeconds = (clock.now - started).seconds
        }
        let quantization = try settleQuantization(for: file, requested: options.quantization, state: &state)
        let manifest = state.manifest
        let kmeans = KMeans(clusterCount: manifest.listCount, dimension: dimension)
        let centroids = state.centroids
        let codeBytes = IVFLayout.codeBytes(dimension: dimension)
        var values = [Int8](repeating: 0, count: options.batchSize * dimension)
        var floats = [Float](repeating: 0, count: options.batchSize * dimension)
        var assignment = ListAssignment()
        var codes = [UInt8](repeating: 0, count: options.batchSize * codeBytes)
        var start = 0
        let ingestStarted = clock.now
        while start < file.count {
            let rows = min(options.batchSize, file.count - start)
            let assignStarted = clock.now
            quantizeRows(file, start: start, rows: rows, quantization: quantization, into: &values)
            assignAndEncode(
                values, rows: rows, kmeans: kmeans, centroids: centroids, floats: &floats, assignment: &assignment,
                codes: &codes)
            report.assignSeconds += (clock.now - assignStarted).seconds
            let writeStarted = clock.now
            let first = start
            let batch = try environment.write { txn in
                try checkUnchangedTraining(txn, since: manifest, quantization: quantization)
                return try withAttributeChanges(txn) { changes in
                    try indexAttributesIfMissing(txn, changes)
                    var rowEntries: [[AttributeRecord.Entry]]?
                    if let attributes {
                        var catalogue = AttributeCatalogue(try committedManifest(txn))
                        let now = Date().timeIntervalSince1970.rounded(.down)
                        rowEntries = (first..<first + rows).map { row in
                            let fields = attributes[row]
                            return catalogue.entries(
                                lang: fields.lang, url: fields.url, ingested: now, metadata: fields.metadata)
                        }
                        try updateManifest(txn) { $0.fields = catalogue.fields }
                    }
                    return try writeBatch(
                        txn, rows: rows, keyAt: { TextKey.encode(keys?[first + $0] ?? String(first + $0)) },
                        values: values, codes: codes, assignment: assignment, blockCapacity: manifest.blockCapacity,
                        attributes: changes, entriesAt: rowEntries.map { entries in { entries[$0] } })
                }
            }
            report.writeSeconds += (clock.now - writeStarted).seconds
            try refreshedState()
            report.added += batch.added
            report.replaced += batch.replaced
            report.unchanged += batch.unchanged
            start += rows
            let elapsed = (clock.now - ingestStarted).seconds
            options.progress?(
                "ingest: \(start)/\(file.count) vectors (\(Int(Double(start) / max(elapsed, 1e-9)))/s)")
        }
        return report
    }

    /// The lists a batch of vectors goes to: each row's nearest, and with spilling a second.
    struct ListAssignment {
        var primary: [Int32] = []
        /// Empty without spilling; -1 for a row with no second list.
        var secondary: [Int32] = []
    }

    /// Assigns `rows` INT8 vectors to their nearest lists (and second lists, when the
    /// collection spills) and packs their sign bits.
    func assignAndEncode(
        _ values: [Int8], rows: Int, kmeans: KMeans, centroids: [Float], floats: inout [Float],
        assignment: inout ListAssignment, codes: inout [UInt8]
    ) {
        let dimension = kmeans.dimension
        let codeBytes = IVFLayout.codeBytes(dimension: dimension)
        if floats.count < rows * dimension { floats = [Float](repeating: 0, count: rows * dimension) }
        if assignment.primary.count < rows { assignment.primary = [Int32](repeating: 0, count: rows) }
        if codes.count < rows * codeBytes { codes = [UInt8](repeating: 0, count: rows * codeBytes) }
        for i in 0..<rows * dimension { floats[i] = Float(values[i]) }
        let penalty = loadedManifest.spillPenalty
        if penalty != nil && assignment.secondary.count < rows {
            assignment.secondary = [Int32](repeating: -1, count: rows)
        }
        floats.withUnsafeBufferPointer { f in
            assignment.primary.withUnsafeMutableBufferPointer { primary in
                if let penalty {
                    assignment.secondary.withUnsafeMutableBufferPointer { secondary in
                        kmeans.assignWithSpill(
                            f.baseAddress!, count: rows, centroids: centroids, penalty: Float(penalty),
                            primary: primary.baseAddress!, secondary: secondary.baseAddress!)
                    }
                } else {
                    kmeans.assign(f.baseAddress!, count: rows, centroids: centroids, into: primary.baseAddress!)
                }
            }
        }
        values.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                for r in 0..<rows {
                    qk_pack_signs_i8(v.baseAddress! + r * dimension, dimension, c.baseAddress! + r * codeBytes)
                }
            }
        }
    }

    private static func validate(keys: [String], rows: Int) throws {
        guard keys.count == rows else {
            throw QuarryError.invalidKey("the keys file has \(keys.count) keys for \(rows) vectors")
        }
        var seen = Set<String>()
        for (line, key) in keys.enumerated() {
            let size = key.utf8.count
            guard size > 0 else { throw QuarryError.invalidKey("key \(line + 1) is empty") }
            guard size <= maxKeyBytes else {
                throw QuarryError.invalidKey("key \(line + 1) is \(size) bytes; keys may be at most \(maxKeyBytes)")
            }
            guard seen.insert(key).inserted else {
                throw QuarryError.invalidKey("key \(line + 1) ('\(key)') appears twice")
            }
        }
    }

    /// The longest external key LMDB can index.
    public static let maxKeyBytes = TextKey.maxBytes

    /// The quantization for float input: the collection's (which `requested` must match), or
    /// a new one as requested; nil for INT8 input.
    private func chooseQuantization(
        for file: VectorFile, requested: QuantizationChoice?, existing: Int8Quantization?
    ) throws -> Int8Quantization? {
        guard file.elementType != .int8 else { return nil }
        if let existing {
            if let requested, requested != (existing == .tanh ? .tanh : .calibrated) {
                throw QuarryError.invalidArgument(
                    "the collection quantizes with \(existing == .tanh ? "tanh" : "calibrated"); quantizing with \(requested.rawValue) would mix scales"
                )
            }
            return existing
        }
        return requested == .calibrated ? Int8Quantization.calibrate(on: file) : .tanh
    }

    /// The quantization of this ingest's float input, recorded in the manifest when the
    /// collection has none yet (as committed: another process may have recorded one first,
    /// which is then used). Updates `state` to the committed state.
    private func settleQuantization(
        for file: VectorFile, requested: QuantizationChoice?, state: inout State
    ) throws -> Int8Quantization? {
        let chosen = try chooseQuantization(for: file, requested: requested, existing: state.manifest.quantization)
        guard let chosen, state.manifest.quantization == nil else { return chosen }
        try environment.write { txn in
            try updateManifest(txn) { manifest in
                if manifest.quantization == nil { manifest.quantization = chosen }
            }
        }
        state = try refreshedState()
        return try chooseQuantization(for: file, requested: requested, existing: state.manifest.quantization)
    }

    /// Throws when the committed coarse quantizer is no longer the one `expected` describes
    /// (vectors assigned with the old one would land in the wrong lists), or, for float input
    /// quantized with `quantization`, the committed quantization is another (INT8 input is
    /// stored as it is, whatever quantization documents recorded meanwhile).
    func checkUnchangedTraining(
        _ txn: LMDBReadTransaction, since expected: CollectionManifest, quantization: Int8Quantization?
    ) throws {
        let committed = try committedManifest(txn)
        guard Self.sameTraining(committed, expected), quantization == nil || committed.quantization == quantization
        else {
            throw QuarryError.conflict(
                "another process changed \(path)'s coarse quantizer or quantization during this ingest; run it again")
        }
    }

    private func quantizeRows(
        _ file: VectorFile, start: Int, rows: Int, quantization: Int8Quantization?, into values: inout [Int8]
    ) {
        let dimension = file.dimension
        values.withUnsafeMutableBufferPointer { out in
            if let quantization {
                var row = [Float](repeating: 0, count: dimension)
                row.withUnsafeMutableBufferPointer { r in
                    for i in 0..<rows {
                        file.floatRow(start + i, into: r.baseAddress!)
                        quantization.quantize(r.baseAddress!, count: dimension, into: out.baseAddress! + i * dimension)
                    }
                }
            } else {
                file.withRows { row in
                    for i in 0..<rows {
                        (out.baseAddress! + i * dimension).update(
                            from: row(start + i).assumingMemoryBound(to: Int8.self), count: dimension)
                    }
                }
            }
        }
    }

    /// Trains the coarse quantizer on a sample of `file` and commits it (see `commitTraining`).
    private func train(
        on file: VectorFile, quantization: Int8Quantization?, manifest: CollectionManifest, options: IngestOptions
    ) throws -> State {
        let dimension = manifest.dimension
        let lists = min(
            file.count, manifest.requestedListCount ?? CollectionManifest.defaultListCount(forVectorCount: file.count))
        let sampleSize = min(file.count, options.trainingSampleSize ?? max(lists * 32, 20_000))
        options.progress?("train: \(lists) lists on \(sampleSize) sampled vectors")
        var generator = SplitMix64(seed: 0x7121)
        let rows =
            sampleSize == file.count
            ? Array(0..<file.count) : sampleWithoutReplacement(count: file.count, take: sampleSize, using: &generator)
        var values = [Int8](repeating: 0, count: dimension)
        var sample = [Float](repeating: 0, count: sampleSize * dimension)
        for (i, row) in rows.enumerated() {
            quantizeRows(file, start: row, rows: 1, quantization: quantization, into: &values)
            for d in 0..<dimension { sample[i * dimension + d] = Float(values[d]) }
        }
        return try train(
            sample: sample, count: sampleSize, lists: lists, quantization: quantization, dimension: dimension,
            options: options)
    }

    /// Trains the coarse quantizer on `count` sample vectors (as floats, quantized with
    /// `quantization`) and commits it: its centroids, list count, training size and the
    /// quantization, unless the collection was trained meanwhile (by another process), whose
    /// coarse quantizer is then kept. Returns the committed state.
    func train(
        sample: [Float], count sampleSize: Int, lists: Int, quantization: Int8Quantization?, dimension: Int,
        options: IngestOptions
    ) throws -> State {
        var kmeans = KMeans(clusterCount: lists, dimension: dimension)
        kmeans.iterations = options.trainingIterations
        let centroids = kmeans.train(sample, count: sampleSize) { iteration in
            options.progress?("train: k-means iteration \(iteration)/\(kmeans.iterations)")
        }
        let trainedHere = try environment.write { txn in
            var trainedHere = false
            try updateManifest(txn) { manifest in
                // Training happens once: a collection trained meanwhile keeps its lists.
                guard manifest.listCount == 0, manifest.quantization == nil || manifest.quantization == quantization
                else { return }
                for list in 0..<lists {
                    try txn.put(
                        databases.centroids, key: ListID.encode(UInt32(list)),
                        value: CentroidRow.encode(centroids[list * dimension..<(list + 1) * dimension]))
                }
                manifest.listCount = lists
                manifest.trainingSize = sampleSize
                manifest.quantization = quantization
                trainedHere = true
            }
            return trainedHere
        }
        let state = try refreshedState()
        if !trainedHere {
            options.progress?("train: \(path) was trained meanwhile by another process; using its lists")
        }
        guard state.manifest.listCount > 0 else {
            // Untrained with another quantization recorded meanwhile (an INT8 or float ingest
            // elsewhere); this input's vectors were quantized differently.
            throw QuarryError.conflict(
                "another process recorded a different quantization for \(path) during this ingest; run it again")
        }
        return state
    }

    struct BatchResult {
        var added = 0
        var replaced = 0
        var unchanged = 0
    }

    /// Writes one batch of vectors in `txn` under the keys `keyAt(0..<rows)`: a key already
    /// stored with the same vector is left alone, one stored with another vector is replaced.
    /// Runs again from scratch if LMDB has to grow its map.
    /// With `entriesAt`, row `r`'s vector gets the attributes `entriesAt(r)` (a bare vector has
    /// none), also when it is left alone.
    func writeBatch(
        _ txn: LMDBWriteTransaction, rows: Int, keyAt: (Int) -> [UInt8], values: [Int8], codes: [UInt8],
        assignment: ListAssignment, blockCapacity: Int, attributes: AttributeChanges,
        entriesAt: ((Int) -> [AttributeRecord.Entry])? = nil
    ) throws -> BatchResult {
        let dimension = loadedManifest.dimension
        let codeBytes = IVFLayout.codeBytes(dimension: dimension)
        var result = BatchResult()
        var nextID =
            try txn.get(databases.meta, key: Self.nextIDKey).map(InternalID.decode) ?? 0
        let firstID = nextID
        let recordBytes = IVFLayout.vectorRecordBytes(dimension: dimension)
        var records: [UInt8] = []
        records.reserveCapacity(rows * recordBytes)
        var pending: [Int32: (ids: [UInt64], codes: [UInt8])] = [:]
        let membership = listMembership(txn, dimension: dimension)
        try values.withUnsafeBufferPointer { allValues in
            for r in 0..<rows {
                let key = keyAt(r)
                let vector = UnsafeBufferPointer(rebasing: allValues[r * dimension..<(r + 1) * dimension])
                if let existing = try txn.get(databases.keys, key: key).map(InternalID.decode) {
                    if let stored = try membership.records.vector(id: existing),
                        memcmp(stored.values, vector.baseAddress!, dimension) == 0
                    {
                        if let entriesAt { try attributes.set(entriesAt(r), of: existing) }
                        result.unchanged += 1
                        continue
                    }
                    try removeVector(txn, id: existing, attributes: attributes)
                    result.replaced += 1
                } else {
                    result.added += 1
                }
                let id = nextID
                nextID += 1
                let list = assignment.primary[r]
                records += StoredVector.encode(values: vector, list: UInt32(list))
                try txn.put(databases.idKeys, key: InternalID.encode(id), value: key, append: true)
                try txn.put(databases.keys, key: key, value: InternalID.encode(id))
                try attributes.set(entriesAt?(r) ?? [], of: id)
                let code = codes[r * codeBytes..<(r + 1) * codeBytes]
                pending[list, default: ([], [])].ids.append(id)
                pending[list, default: ([], [])].codes.append(contentsOf: code)
                if r < assignment.secondary.count, assignment.secondary[r] >= 0 {
                    let second = assignment.secondary[r]
                    try membership.recordSecondList(UInt32(second), of: id, append: true)
                    pending[second, default: ([], [])].ids.append(id)
                    pending[second, default: ([], [])].codes.append(contentsOf: code)
                }
            }
        }
        try appendRecords(txn, firstID: firstID, records: records, recordBytes: recordBytes)
        var manifest = loadedManifest
        manifest.blockCapacity = blockCapacity
        let lists = invertedLists(txn, manifest: manifest)
        for (list, entries) in pending.sorted(by: { $0.key < $1.key }) {
            try lists.append(toList: Int(list), ids: entries.ids, codes: entries.codes)
        }
        try txn.put(databases.meta, key: Self.nextIDKey, value: InternalID.encode(nextID))
        return result
    }

    /// Removes vector `id` from its posting list(s) and attribute indexes and deletes its key
    /// records.
    func removeVector(_ txn: LMDBWriteTransaction, id: UInt64, attributes: AttributeChanges) throws {
        let membership = listMembership(txn, dimension: loadedManifest.dimension)
        guard try txn.get(databases.idKeys, key: InternalID.encode(id)) != nil,
            let holders = try membership.lists(of: id)
        else { return }
        let lists = invertedLists(txn, manifest: loadedManifest)
        try remove(id, fromList: holders.first, of: lists)
        if let second = holders.second {
            try remove(id, fromList: second, of: lists)
            try membership.forgetSecondList(of: id)
        }
        try attributes.remove(id)
        // The record stays in its segment, unreachable: no list, key, id-key or posting refers to it.
        try txn.delete(databases.idKeys, key: InternalID.encode(id))
    }

    /// Removes `id` from posting list `list` of `lists`, which must hold it.
    private func remove(_ id: UInt64, fromList list: UInt32, of lists: LMDBInvertedLists<LMDBWriteTransaction>) throws {
        guard Int(list) < lists.listCount, try lists.remove(id: id, fromList: Int(list)) else {
            throw QuarryError.corrupt(path: path, reason: "vector \(id) is missing from posting list \(list)")
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
