/// What went wrong, in the few classes a caller acts on differently: the server answers each
/// with its own HTTP status, the CLI with its own exit status.
public enum ErrorKind: String, Sendable, CaseIterable, Codable {
    /// The request or its input is malformed or out of range; retrying it unchanged fails again.
    case invalidArgument = "invalid_argument"
    /// What was named (a collection, a document, a file) does not exist.
    case notFound = "not_found"
    /// The request contradicts the state it meets: a name taken, a collection built with another
    /// model, a collection in use by another process.
    case conflict
    /// The request's content type or a file's format is not one this build handles.
    case unsupported
    /// The request or its input exceeds a configured limit (body, response, line or record size).
    case resourceLimit = "resource_limit"
    /// Every worker is taken; retrying later may succeed.
    case busy
    /// Stored bytes do not decode as what they should be: the collection is damaged.
    case corrupt
    /// The storage failed: disk full, map full, I/O error, permissions.
    case storage
}

/// An error that says which kind of failure it is. Every error type of Quarry's modules conforms,
/// so callers (the server, the CLI) map kinds to statuses in one place.
public protocol ClassifiedError: Error, CustomStringConvertible {
    /// The class of the failure.
    var kind: ErrorKind { get }
}

extension ErrorKind {
    /// The kind of any error: its own when it is classified, `storage` otherwise (an error
    /// nobody classified comes from a system call or a library underneath).
    public init(of error: any Error) {
        self = (error as? any ClassifiedError)?.kind ?? .storage
    }
}
