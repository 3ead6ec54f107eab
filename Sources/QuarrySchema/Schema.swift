// WARNING: this module is the on-disk format of every Quarry collection. Changing a database
// name, a key or value encoding, a byte order or a JSON field name here breaks every collection
// already stored: do it only together with a new `CollectionSchema.currentVersion` and either a
// migration on open or a refusal that names the command to run. The committed fixture
// collections (Tests/QuarryTests/Fixtures/) and their test catch a change made to an encoder
// and its decoder alike.

/// The schema of a collection: its version, its LMDB databases and the byte-order rule every
/// encoding in this module follows.
///
/// Byte order, one rule:
/// - **Keys are big-endian.** LMDB compares keys byte by byte, so a big-endian integer key
///   sorts numerically (and a list's blocks, a collection's ids and segments come in order).
///   A value that *is* another database's key (the internal id under `keys`, the list id under
///   `spills`, `next_id` under `meta`) is stored in that key encoding too, so it is the same
///   bytes wherever it appears.
/// - **Payloads are little-endian.** Posting-list blocks, vector records and centroid rows are
///   read in place from the memory map; little-endian is every host Quarry runs on, so a read
///   is a plain load. This includes the internal ids inside a block.
/// - Text (external keys, document keys) is UTF-8; JSON values (the manifest, documents) are
///   UTF-8 JSON with sorted keys.
public enum CollectionSchema {
    /// Marks an LMDB environment as a Quarry collection (the manifest's `format`).
    public static let formatName = "quarry-collection"

    /// The schema version this build writes (the manifest's `schemaVersion`).
    ///
    /// Version history: 1 stored one `vectors` record per internal id (key: the id, u64 BE);
    /// 2 stores them 4,096 to a segment; 3 adds the attribute indexes (`attrs`, `postings`,
    /// `columns`) and the manifest's field catalogue. A version-2 collection opens and searches
    /// without filters; its next write indexes its documents' fields and makes it version 3.
    public static let currentVersion = 3

    /// The schema versions this build opens.
    public static let readableVersions: ClosedRange<Int> = 2...3

    /// The LMDB databases of a collection environment (named databases; their names are stored).
    public enum Database: String, CaseIterable, Sendable {
        /// `manifest` → the manifest (JSON); `next_id` → the next internal id (u64 BE).
        case meta
        /// List id (u32 BE) → the list's centroid: float32[dimension] LE, unit length.
        case centroids
        /// List id (u32 BE) ++ block number (u32 BE) → a posting-list block (`IVFBlock`).
        case lists
        /// Segment number (u64 BE) = internal id / 4,096 → up to 4,096 vector records
        /// (`StoredVector`) back to back, the record of id `i` at offset (i % 4,096) × record bytes.
        case vectors
        /// External key (UTF-8, ≤ 511 bytes) → internal id (u64 BE).
        case keys
        /// Internal id (u64 BE) → external key (UTF-8).
        case idKeys = "idkeys"
        /// Document key (UTF-8, ≤ 480 bytes) → zstd frame of the document's JSON.
        case docs
        /// Internal id (u64 BE) → its second list id (u32 BE); only written with spilling.
        case spills
        /// Internal id (u64 BE) → the vector's indexed field values (`AttributeRecord`).
        case attributes = "attrs"
        /// Field number ++ keyword value ++ chunk (`PostingKey`) → the ids of that chunk holding
        /// the value (`PostingChunk`); field 0xFFFF holds every live vector.
        case postings
        /// Field number ++ segment (`ColumnKey`) → a numeric field's values of 4,096 ids
        /// (`ColumnSegment`).
        case columns

        /// The database's stored name.
        public var name: String { rawValue }
    }

    /// Keys of the `meta` database.
    public enum MetaKey {
        /// The manifest: JSON of the collection's format, schema version, dimension, metric,
        /// lists, training, quantization, spill penalty, block capacity, model and defaults.
        public static let manifest: [UInt8] = Array("manifest".utf8)
        /// The next internal id to assign: u64 BE (`InternalID.encode`).
        public static let nextID: [UInt8] = Array("next_id".utf8)
    }
}
