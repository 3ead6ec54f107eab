import Foundation

/// Errors from the engine, phrased for the person at the command line.
public enum QuarryError: Error, CustomStringConvertible, Equatable {
    case collectionNotFound(path: String)
    case notACollection(path: String, reason: String)
    case collectionExists(path: String)
    case incompatibleSchema(path: String, found: Int, supported: Int)
    case dimensionMismatch(expected: Int, found: Int, source: String)
    case nonFiniteValue(source: String, row: Int)
    case invalidArgument(String)
    case invalidKey(String)
    case untrained(path: String)
    case invalidRecord(source: String, reason: String)
    case documentNotFound(key: String)
    case modelMismatch(String)
    /// Another process changed the collection in a way this operation cannot build on.
    case conflict(String)

    public var description: String {
        switch self {
        case .collectionNotFound(let path):
            "no collection at \(path) (create one with `quarry create \(path) --dims D`)"
        case .notACollection(let path, let reason):
            "\(path) is not a Quarry collection: \(reason)"
        case .collectionExists(let path):
            "\(path) already exists and is not empty; choose a new directory"
        case .incompatibleSchema(let path, let found, let supported):
            "\(path) has schema version \(found); this build reads version \(supported)"
        case .dimensionMismatch(let expected, let found, let source):
            "\(source) has \(found) dimensions but the collection has \(expected)"
        case .nonFiniteValue(let source, let row):
            "\(source) row \(row) holds a NaN or infinite value; nothing was ingested"
        case .invalidArgument(let message): message
        case .invalidKey(let message): message
        case .untrained(let path): "\(path) holds no vectors yet; ingest some first"
        case .invalidRecord(let source, let reason): "\(source): \(reason)"
        case .documentNotFound(let key): "no document with key '\(key)'"
        case .modelMismatch(let message): message
        case .conflict(let message): message
        }
    }
}
