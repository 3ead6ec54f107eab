import Foundation
import QuarryIndex
import QuarrySchema
import QuarryStore

// The values a collection stores as JSON (their byte form is `StoredJSON`, the document's zstd
// frame around it is here): each decoder checks what it decodes, so a damaged or foreign
// value is an error rather than a number that traps later.

extension CollectionManifest {
    /// The manifest as stored under `meta/manifest`.
    func encodeStored() throws -> [UInt8] { try StoredJSON.encode(self) }

    /// The manifest stored as `bytes`, with every field in the range the engine works with.
    /// Throws `QuarryError.notACollection` for what is no manifest and `QuarryError.corrupt`
    /// for one with a field out of range (both naming `path`). The schema version is
    /// left to the caller, which reports a different one as such.
    public static func decodeStored(_ bytes: UnsafeRawBufferPointer, path: String) throws -> CollectionManifest {
        guard let manifest = try? StoredJSON.decode(CollectionManifest.self, from: bytes),
            manifest.format == formatName
        else {
            throw QuarryError.notACollection(path: path, reason: "its manifest is not a Quarry manifest")
        }
        if let problem = manifest.fieldProblem() {
            throw QuarryError.corrupt(path: path, reason: "its manifest is damaged: \(problem)")
        }
        return manifest
    }

    /// The first field outside its range, described; nil when every field is usable.
    func fieldProblem() -> String? {
        if !(1...Limits.maxDimension).contains(dimension) {
            return "dimension \(dimension) is not in 1...\(Limits.maxDimension)"
        }
        if listCount > Limits.maxListCount { return "list count \(listCount) is over \(Limits.maxListCount)" }
        if listCount < 0 { return "list count \(listCount) is negative" }
        if trainingSize < 0 { return "training size \(trainingSize) is negative" }
        if let requestedListCount, requestedListCount <= 0 {
            return "requested list count \(requestedListCount) is not positive"
        }
        if !(1...(1 << 20)).contains(blockCapacity) { return "block capacity \(blockCapacity) is not in 1...1048576" }
        if let spillPenalty, !spillPenalty.isFinite || spillPenalty < 0 {
            return "spill penalty \(spillPenalty) is not a finite non-negative number"
        }
        if case .calibrated(let scale)? = quantization, !scale.isFinite || scale <= 0 {
            return "quantization scale \(scale) is not a finite positive number"
        }
        if let defaultProbeCount, defaultProbeCount <= 0 {
            return "default probe count \(defaultProbeCount) is not positive"
        }
        if let defaultOversample, !defaultOversample.isFinite || !(1...Limits.maxOversample).contains(defaultOversample)
        {
            return "default oversample \(defaultOversample) is not in 1...\(Limits.maxOversample)"
        }
        return nil
    }
}

extension StoredDocument {
    /// The document as stored under its key in `docs`: one zstd frame of its JSON.
    func encodeStored() throws -> [UInt8] { try Zstd.compress(try StoredJSON.encode(self)) }

    /// The document stored as `bytes` (a zstd frame of JSON) under `key` in the collection at
    /// `path`; throws `StoreError.corruptData` when the frame does not decode and
    /// `QuarryError.corrupt` when its JSON is not a document. Chunk ranges are not trusted
    /// (`chunkText` clamps them).
    public static func decodeStored(_ bytes: UnsafeRawBufferPointer, key: String, path: String) throws
        -> StoredDocument
    {
        let json = try Zstd.decompress(bytes)
        do {
            return try json.withUnsafeBytes { try StoredJSON.decode(StoredDocument.self, from: $0) }
        } catch {
            throw QuarryError.corrupt(
                path: path, reason: "the record of document '\(QuarryError.abbreviated(key))' is not a document")
        }
    }
}
