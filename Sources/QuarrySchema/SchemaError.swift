import QuarryBase

/// Stored bytes that do not have the shape the schema gives them: a damaged collection.
public struct SchemaError: ClassifiedError, Equatable {
    /// What was found, and where a value of which shape belongs.
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var kind: ErrorKind { .corrupt }
    public var description: String { reason }
}
