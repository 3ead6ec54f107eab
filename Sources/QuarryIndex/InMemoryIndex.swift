import CQuarryKernels
import Foundation

/// An IVF index held in memory, laid out exactly as the persisted one (its posting lists are
/// `InMemoryInvertedLists`): for tests, benchmarks and scratch work. Vector ids are row numbers.
public final class InMemoryIVFIndex: IVFStorage {
    public let dimension: Int
    public let centroids: [Float]
    /// The posting lists, one per centroid.
    public let lists: InMemoryInvertedLists
    private let count: Int
    /// Vector records, contiguous, so pointers to them stay valid for the index's lifetime.
    private let records: UnsafeMutableRawBufferPointer

    /// Builds an index of `count` row-major INT8 vectors over unit-length `centroids`, its lists
    /// in blocks of `blockCapacity` entries.
    public init(vectors: [Int8], count: Int, dimension: Int, centroids: [Float], blockCapacity: Int = 256) {
        precondition(vectors.count == count * dimension)
        self.dimension = dimension
        self.centroids = centroids
        self.count = count
        let codeBytes = IVFLayout.codeBytes(dimension: dimension)
        let recordBytes = IVFLayout.vectorRecordBytes(dimension: dimension)
        let records = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, count * recordBytes), alignment: 8)
        let kmeans = KMeans(clusterCount: centroids.count / dimension, dimension: dimension)
        var assignment = [Int32](repeating: 0, count: count)
        kmeans.assign(vectors.map(Float.init), count: count, centroids: centroids, into: &assignment)
        var ids = [[UInt64]](repeating: [], count: kmeans.clusterCount)
        var codes = [[UInt8]](repeating: [], count: kmeans.clusterCount)
        var code = [UInt8](repeating: 0, count: codeBytes)
        vectors.withUnsafeBufferPointer { v in
            for row in 0..<count {
                let values = UnsafeBufferPointer(rebasing: v[row * dimension..<(row + 1) * dimension])
                qk_pack_signs_i8(values.baseAddress, dimension, &code)
                let list = Int(assignment[row])
                ids[list].append(UInt64(row))
                codes[list].append(contentsOf: code)
                StoredVector.encode(values: values, list: UInt32(list)).withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: records[row * recordBytes..<(row + 1) * recordBytes])
                        .copyMemory(from: $0)
                }
            }
        }
        self.records = records
        lists = InMemoryInvertedLists(
            listCount: kmeans.clusterCount, codeBytes: codeBytes, blockCapacity: blockCapacity)
        for list in 0..<kmeans.clusterCount {
            // The list numbers and code sizes are the ones the lists were made with.
            try! lists.append(toList: list, ids: ids[list], codes: codes[list])
        }
    }

    deinit { records.deallocate() }

    public var codeBytes: Int { lists.codeBytes }

    public var listCount: Int { lists.listCount }

    public func listSize(_ list: Int) throws -> Int { try lists.listSize(list) }

    public func forEachBlock(ofList list: Int, _ body: (IVFBlock) throws -> Void) throws {
        try lists.forEachBlock(ofList: list, body)
    }

    public func vector(id: UInt64) throws -> StoredVector? {
        guard id < count else { return nil }
        let recordBytes = IVFLayout.vectorRecordBytes(dimension: dimension)
        return StoredVector(
            bytes: UnsafeRawBufferPointer(rebasing: records[Int(id) * recordBytes..<(Int(id) + 1) * recordBytes]),
            dimension: dimension)
    }

    public func recordAddress(id: UInt64) throws -> UnsafeRawPointer? {
        guard id < count else { return nil }
        return UnsafeRawPointer(records.baseAddress! + Int(id) * IVFLayout.vectorRecordBytes(dimension: dimension))
    }

    public func forEachVector(_ body: (UInt64, StoredVector) throws -> Bool) throws {
        for id in 0..<count {
            guard let stored = try vector(id: UInt64(id)), try body(UInt64(id), stored) else { return }
        }
    }
}
