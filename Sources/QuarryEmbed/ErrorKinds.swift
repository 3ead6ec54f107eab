import QuarryBase

extension EmbedderError: ClassifiedError {
    public var kind: ErrorKind { .invalidArgument }
}

extension EncoderError: ClassifiedError {
    public var kind: ErrorKind {
        switch self {
        case .tokenOutOfRange: .invalidArgument
        case .sequenceTooLong: .resourceLimit
        }
    }
}

extension TokenizerLoadingError: ClassifiedError {
    public var kind: ErrorKind {
        switch self {
        case .noTokenizerFiles: .notFound
        case .unreadable: .storage
        case .malformed: .corrupt
        case .unsupported: .unsupported
        }
    }
}

extension ModelLoadingError: ClassifiedError {
    public var kind: ErrorKind {
        switch self {
        case .cannotOpen: .notFound
        case .malformedHeader, .shapeMismatch, .invalidConfig, .missingTensor: .corrupt
        case .unsupportedDType, .unsupportedModel: .unsupported
        }
    }
}

extension RemoteEmbedderError: ClassifiedError {
    /// An unreachable or overloaded embedding server is worth retrying later; a refusal of the
    /// request as configured (a 4xx other than 408 and 429) is not.
    public var kind: ErrorKind {
        switch self {
        case .invalidSettings, .unsupported: .invalidArgument
        case .unreachable: .busy
        case .httpStatus(_, let status, _, _):
            status == 408 || status == 429 || status >= 500 ? .busy : .invalidArgument
        case .invalidResponse: .corrupt
        }
    }
}
