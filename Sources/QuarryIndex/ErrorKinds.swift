import QuarryBase

extension VectorFileError: ClassifiedError {
    /// A vector file that cannot be read as one is bad input.
    public var kind: ErrorKind { .invalidArgument }
}
