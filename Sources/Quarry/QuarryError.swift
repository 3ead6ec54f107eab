import Foundation
import QuarryBase

/// The classes of failure (`QuarryBase.ErrorKind`), for callers that import only Quarry.
public typealias ErrorKind = QuarryBase.ErrorKind
/// An error that says its kind (`QuarryBase.ClassifiedError`).
public typealias ClassifiedError = QuarryBase.ClassifiedError

/// Errors from the engine. Each names what failed and why in words that fit any caller (the
/// CLI words its own flags; the server maps `kind` to a status).
public enum QuarryError: ClassifiedError, Equatable {
    case collectionNotFound(path: String)
    case notACollection(path: String, reason: String)
    case collectionExists(path: String)
    case incompatibleSchema(path: String, found: Int, readable: ClosedRange<Int>)
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
    /// Stored bytes of the collection at `path` do not decode: it is damaged.
    case corrupt(path: String, reason: String)
    /// An input or a result is larger than a limit allows.
    case limitExceeded(String)

    /// A key as quoted in a message: long ones cut to their first 64 characters.
    public static func abbreviated(_ key: String) -> String {
        key.count <= 64 ? key : key.prefix(64) + "… (\(key.utf8.count) bytes)"
    }

    public var kind: ErrorKind {
        switch self {
        case .collectionNotFound, .documentNotFound: .notFound
        case .collectionExists, .modelMismatch: .conflict
        case .notACollection: .corrupt
        case .incompatibleSchema: .unsupported
        case .dimensionMismatch, .nonFiniteValue, .invalidArgument, .invalidKey, .invalidRecord, .untrained:
            .invalidArgument
        case .corrupt: .corrupt
        case .limitExceeded: .resourceLimit
        case .conflict: .conflict
        }
    }

    public var description: String {
        switch self {
        case .collectionNotFound(let path): "no collection at \(path)"
        case .notACollection(let path, let reason): "\(path) is not a Quarry collection: \(reason)"
        case .collectionExists(let path): "\(path) already exists and is not empty; choose a new directory"
        case .incompatibleSchema(let path, let found, let readable):
            "\(path) has schema version \(found); this build reads schema versions \(readable.lowerBound)"
                + "...\(readable.upperBound). "
                + (found > readable.upperBound
                    ? "Open it with a newer Quarry build (one that reads version \(found))."
                    : "Rebuild it with this build: `quarry create` a new collection and `quarry ingest` its source again.")
        case .dimensionMismatch(let expected, let found, let source):
            "\(source) has \(found) dimensions but the collection has \(expected)"
        case .nonFiniteValue(let source, let row):
            "\(source) row \(row) holds a NaN or infinite value; nothing was ingested"
        case .invalidArgument(let message): message
        case .invalidKey(let message): message
        case .untrained(let path): "\(path) holds no vectors yet; ingest some first"
        case .invalidRecord(let source, let reason): "\(source): \(reason)"
        case .documentNotFound(let key): "no document with key '\(Self.abbreviated(key))'"
        case .modelMismatch(let message): message
        case .corrupt(let path, let reason): "the collection at \(path) is damaged: \(reason)"
        case .limitExceeded(let message): message
        case .conflict(let message): message
        }
    }
}
