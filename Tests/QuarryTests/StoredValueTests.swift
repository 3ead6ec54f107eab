import Foundation
import Quarry
import QuarryStore
import Testing

/// Stored manifests and documents are checked as they are decoded.
@Suite struct StoredValueTests {
    private func decodeManifest(_ json: String) throws -> CollectionManifest {
        try Array(json.utf8).withUnsafeBytes { try CollectionManifest.decodeStored($0, path: "c") }
    }

    /// A valid manifest's JSON with `changes` applied.
    private func manifestJSON(_ changes: [String: Any] = [:]) throws -> String {
        var object: [String: Any] = [
            "format": "quarry-collection", "schemaVersion": 2, "dimension": 64, "metric": "cosine", "listCount": 16,
            "trainingSize": 1000, "blockCapacity": 256,
        ]
        object.merge(changes) { $1 }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func aManifestWithFieldsOutOfRangeIsDamaged() throws {
        #expect(try decodeManifest(manifestJSON()).dimension == 64)
        let damaged: [[String: Any]] = [
            ["dimension": 0], ["dimension": 1_000_000], ["listCount": -1], ["blockCapacity": 0], ["trainingSize": -5],
            ["defaultOversample": 1e300], ["defaultProbeCount": 0], ["requestedListCount": -3],
            ["quantization": ["calibrated": ["scale": -1.0]]],
        ]
        for change in damaged {
            #expect(throws: QuarryError.self, "\(change)") { _ = try decodeManifest(manifestJSON(change)) }
        }
        #expect(throws: QuarryError.self) { _ = try decodeManifest(manifestJSON(["format": "other"])) }
    }

    @Test func aDocumentThatIsNotOneIsAnError() throws {
        let frame = try Zstd.compress(Array(#"{"key": "a", "text": "x", "chunks": [[0, 99]], "fingerprint": ""}"#.utf8))
        let document = try frame.withUnsafeBytes { try StoredDocument.decodeStored($0, key: "a", path: "c") }
        #expect(document.chunkText(0) == "x")
        let notADocument = try Zstd.compress(Array(#"{"key": 5}"#.utf8))
        #expect(throws: QuarryError.self) {
            _ = try notADocument.withUnsafeBytes { try StoredDocument.decodeStored($0, key: "a", path: "c") }
        }
        #expect(throws: StoreError.self) {
            _ = try Array("not zstd".utf8).withUnsafeBytes { try StoredDocument.decodeStored($0, key: "a", path: "c") }
        }
    }
}
