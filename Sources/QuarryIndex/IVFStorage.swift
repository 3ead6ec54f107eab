/// What a search reads: the posting lists (`InvertedLists`) and the stored vectors. An LMDB read
/// transaction and an in-memory index both provide it; pointers they hand out stay valid for the
/// search.
public protocol IVFStorage: InvertedLists {
    /// The stored vector of internal id `id`, or nil when there is none.
    func vector(id: UInt64) throws -> StoredVector?
    /// Where the record of `id` starts (its INT8 values, then the norm), without reading it;
    /// nil when there is none. Lets a search gather many records with prefetching.
    func recordAddress(id: UInt64) throws -> UnsafeRawPointer?
    /// Calls `body` with every stored vector (for exact search); `body` returns false to stop.
    func forEachVector(_ body: (UInt64, StoredVector) throws -> Bool) throws
}
