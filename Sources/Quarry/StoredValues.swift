import Foundation
import QuarryIndex
import QuarryStore

// Decoding of the values a collection stores as JSON: each checks what it decodes, so a
// damaged or foreign value is an error rather than a number that traps later.

extension CollectionManifest {
    /// The manifest stored as `bytes`, with every field in the range the engine works with.
    /// Throws `QuarryError.notACollection` (naming `path`) otherwise. The schema version is
    /// left to the caller, which reports a different one as such.
    public static func decodeStored(_ bytes: UnsafeRawBufferPointer, path: String) throws -> CollectionManifest {
        guard let manifest = try? JSONDecoder().decode(CollectionManifest.self, from: Data(bytes)),
            manifest.format == formatName
        else {
            throw QuarryError.notACollection(path: path, reason: "its manifest is not a Quarry manifest")
        }
        if let problem = manifest.fieldProblem() {
            throw QuarryError.notACollection(path: path, reason: "its manifest is damaged: \(problem)")
        }
        return manifest
    }

    /// The first field outside its range, described; nil when every field is usable.
    func fieldProblem() -> String? {
        if !(1...65_536).contains(dimension) { return "dimension \(dimension) is not in 1...65536" }
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
        if let defaultOversample, !defaultOversample.isFinite || defaultOversample < 1 || defaultOversample > 1e6 {
            return "default oversample \(defaultOversample) is not in 1...1000000"
        }
        return nil
    }
}

extension StoredDocument {
    /// The document stored as `bytes` (a zstd frame of JSON); throws `StoreError.corruptData`
    /// when the frame does not decode and `QuarryError.invalidRecord` when its JSON is not a
    /// document. Chunk ranges are not trusted (`chunkText` clamps them).
    public static func decodeStored(_ bytes: UnsafeRawBufferPointer, key: String) throws -> StoredDocument {
        let json = try Zstd.decompress(bytes)
        do {
            return try JSONDecoder().decode(StoredDocument.self, from: Data(json))
        } catch {
            throw QuarryError.invalidRecord(
                source: "the stored document '\(key)'", reason: "its JSON is not a document")
        }
    }
}
