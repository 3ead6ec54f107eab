import Foundation
import QuarryIndex
import QuarrySchema

/// The fields a collection indexes its documents by: the catalogue in its manifest, grown by
/// inference as documents bring new metadata fields.
struct AttributeCatalogue {
    /// In field-number order: a field's number is its position.
    private(set) var fields: [AttributeField]
    /// Whether a metadata field not yet in `fields` is added on first sight.
    let infers: Bool
    private var numbers: [String: Int]

    /// The most metadata fields a collection indexes (inference stops there).
    static let maxMetadataFields = 64

    init(fields: [AttributeField], infers: Bool) {
        self.fields = fields
        self.infers = infers
        numbers = Dictionary(fields.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The catalogue of `manifest` (the built-in fields for one stored before schema version 3).
    init(_ manifest: CollectionManifest) {
        self.init(fields: manifest.fields ?? AttributeField.builtIn, infers: manifest.infersFields ?? true)
    }

    /// The attribute entries of a document's vectors; adds (when inferring) the metadata
    /// fields first seen here.
    mutating func entries(of document: StoredDocument) -> [AttributeRecord.Entry] {
        entries(lang: document.lang, url: document.url, ingested: document.ingested, metadata: document.metadata)
    }

    /// The attribute entries of a vector with these fields (a document's, or a bare vector's
    /// from an attributes file).
    mutating func entries(lang: String?, url: String?, ingested: Double?, metadata: JSONValue?)
        -> [AttributeRecord.Entry]
    {
        var entries: [AttributeRecord.Entry] = []
        func keyword(_ name: String, _ value: String?) {
            guard let value, !value.isEmpty, let field = numbers[name] else { return }
            let bytes = Array(value.utf8)
            if bytes.count <= PostingKey.maxValueBytes {
                entries.append(.init(field: UInt16(field), value: .keyword(bytes)))
            }
        }
        keyword("lang", lang)
        if let url, let host = URLComponents(string: url)?.host, !host.isEmpty {
            keyword("host", host.lowercased())
            keyword("site", RegistrableDomain.of(host))
        }
        if let ingested, let field = numbers["ingested"] {
            entries.append(.init(field: UInt16(field), value: .number(ingested)))
        }
        guard case .object(let metadata)? = metadata else { return entries }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            guard let field = number(ofMetadataField: name, value: value) else { continue }
            switch fields[field].kind {
            case .keyword:
                for text in AttributeValues.keywords(value) {
                    let bytes = Array(text.utf8)
                    if bytes.count <= PostingKey.maxValueBytes {
                        entries.append(.init(field: UInt16(field), value: .keyword(bytes)))
                    }
                }
            case .number, .date:
                if let number = AttributeValues.number(value, kind: fields[field].kind), number.isFinite {
                    entries.append(.init(field: UInt16(field), value: .number(number)))
                }
            }
        }
        return entries
    }

    /// The number of metadata field `name`, added when inferring and `value` has an indexable kind.
    private mutating func number(ofMetadataField name: String, value: JSONValue) -> Int? {
        let fieldName = "metadata." + name
        if let known = numbers[fieldName] { return known }
        guard infers, fieldName.utf8.count <= 256,
            fields.count - AttributeField.builtIn.count < Self.maxMetadataFields,
            let kind = AttributeKind.infer(from: value)
        else { return nil }
        fields.append(AttributeField(name: fieldName, kind: kind))
        numbers[fieldName] = fields.count - 1
        return fields.count - 1
    }
}
