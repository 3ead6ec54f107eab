import CLMDB
import QuarryBase

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension StoreError: ClassifiedError {
    public var kind: ErrorKind {
        switch self {
        case .lmdb(let code, _, _):
            switch code {
            case MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_PANIC, MDB_INVALID, MDB_VERSION_MISMATCH: .corrupt
            case MDB_READERS_FULL: .busy
            case MDB_TXN_FULL, MDB_DBS_FULL: .resourceLimit
            default: .storage
            }
        case .notAnLMDBEnvironment, .corruptData: .corrupt
        case .environmentNotFound, .databaseNotFound: .notFound
        case .alreadyOpen, .locked: .conflict
        case .environmentUnusable: .storage
        case .keyTooLarge, .invalidKey: .invalidArgument
        case .mapFull, .compression, .nestedTransaction, .transactionFinished: .storage
        case .decompressedSizeTooLarge: .resourceLimit
        }
    }
}

extension InputError: ClassifiedError {
    public var kind: ErrorKind {
        switch self {
        case .cannotOpen: .notFound
        case .corrupt, .truncated: .invalidArgument
        case .tooLarge: .resourceLimit
        }
    }
}
