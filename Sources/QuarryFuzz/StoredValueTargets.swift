import Foundation
import Quarry
import QuarryIndex
import QuarryStore

extension FuzzTarget {
    /// The values a collection keeps in LMDB: posting-list blocks, vector records, the
    /// manifest, documents, and zstd frames.
    static let storedValueTargets: [FuzzTarget] = [
        FuzzTarget("ivf-block", "posting-list block (IVFBlock); the first byte picks the code width") { data, _ in
            guard let first = data.first else { return }
            let codeBytes = Int(first % 17) * 8
            try data.dropFirst().withUnsafeBytes { raw in
                guard let block = IVFBlock(bytes: raw, codeBytes: codeBytes) else { throw Rejected("not a block") }
                let end = raw.baseAddress! + raw.count
                guard block.codes + block.count * codeBytes == end else {
                    throw FuzzFinding("a block of \(block.count) entries does not end where its bytes do")
                }
                for index in 0..<block.count { _ = block.id(at: index) }
            }
        },
        FuzzTarget("vector-record", "INT8 vector record (StoredVector); the first two bytes give the dimension") {
            data, _ in
            guard data.count >= 2 else { return }
            let bytes = [UInt8](data)
            let dimension = Int(bytes[0]) | Int(bytes[1]) << 8
            try bytes.dropFirst(2).withUnsafeBytes { raw in
                guard let vector = StoredVector(bytes: raw, dimension: dimension) else {
                    throw Rejected("not a record")
                }
                guard raw.count == dimension + 8 else { throw FuzzFinding("record of \(raw.count) bytes accepted") }
                _ = (0..<dimension).reduce(0) { $0 &+ Int(vector.values[$1]) }
            }
        },
        FuzzTarget("manifest", "collection manifest JSON (CollectionManifest.decodeStored)", isJSON: true) { data, _ in
            let manifest = try data.withUnsafeBytes { try CollectionManifest.decodeStored($0, path: "fuzz") }
            _ = CollectionManifest.defaultListCount(forVectorCount: manifest.trainingSize)
        },
        FuzzTarget(
            "stored-document", "document JSON, zstd-compressed as stored (StoredDocument.decodeStored)", isJSON: true
        ) {
            data, _ in
            let frame = try Zstd.compress([UInt8](data), level: 1)
            let document = try frame.withUnsafeBytes { try StoredDocument.decodeStored($0, key: "fuzz", path: "fuzz") }
            for index in -1...document.chunks.count { _ = document.chunkText(index) }
        },
        FuzzTarget("zstd-frame", "raw zstd frames (Zstd.decompress, size limit 1 MiB)") { data, _ in
            let bytes = try Zstd.decompress([UInt8](data), maxSize: 1 << 20)
            if bytes.count > 1 << 20 { throw FuzzFinding("\(bytes.count) bytes past the 1 MiB limit") }
        },
    ]
}
