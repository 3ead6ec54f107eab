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
