import Foundation
import QuarryIndex
import QuarrySchema

/// What a collection is: stored as JSON under `manifest` in the `meta` database
/// (`CollectionSchema.MetaKey.manifest`). The property names are the stored JSON field names:
/// renaming one breaks stored collections (see QuarrySchema's Schema.swift).
public struct CollectionManifest: Codable, Sendable, Equatable {
    /// Marks an LMDB environment as a Quarry collection.
    public static let formatName = CollectionSchema.formatName
    /// The on-disk layout version this build writes.
    public static let currentSchemaVersion = CollectionSchema.currentVersion

    public var format: String = formatName
    public var schemaVersion: Int = currentSchemaVersion
    public var dimension: Int
    public var metric: String = "cosine"
    /// Lists requested at creation (nil: chosen from the first ingest's size).
    public var requestedListCount: Int?
    /// Lists of the trained coarse quantizer; 0 until the first ingest trains it.
    public var listCount: Int = 0
    /// Vectors the coarse quantizer was trained on.
    public var trainingSize: Int = 0
    /// How float input is quantized to INT8 (nil until the first float ingest decides).
    public var quantization: Int8Quantization?
    /// Redundant assignment: when set, every vector is also kept in a second posting list,
    /// chosen SOAR-style with this penalty on residuals parallel to the first list's (see
    /// `KMeans.assignWithSpill`). Fixed at creation; nil: one list a vector.
    public var spillPenalty: Double?
    /// Entries per posting-list block.
    public var blockCapacity: Int = 256
    /// The embedding model directory, when the collection embeds text itself.
    public var model: String?
    /// Search settings used when a query names none.
    public var defaultProbeCount: Int?
    public var defaultOversample: Double?
    public var defaultPrefilter: Prefilter?
    /// The fields documents are indexed by, for filters; a field's number is its position:
    /// the built-in ones (`AttributeField.builtIn`), then metadata fields as declared or first
    /// seen. nil before schema version 3.
    public var fields: [AttributeField]?
    /// Whether a metadata field not in `fields` is indexed on first sight (false when fields
    /// were declared at creation).
    public var infersFields: Bool?

    /// A new collection's manifest; `declaring` metadata fields turns inference off.
    public init(
        dimension: Int, requestedListCount: Int? = nil, spillPenalty: Double? = nil,
        declaring declared: [AttributeField] = []
    ) {
        self.dimension = dimension
        self.requestedListCount = requestedListCount
        self.spillPenalty = spillPenalty
        fields = AttributeField.builtIn + declared
        infersFields = declared.isEmpty
    }

    /// The list count for a collection whose first ingest holds `count` vectors: about
    /// 4·√n, at most n / 32 so lists are not tiny, at least 1.
    public static func defaultListCount(forVectorCount count: Int) -> Int {
        max(1, min(Int(4 * Double(count).squareRoot()), count / 32))
    }
}
