#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An advisory `flock` on a lock file in a collection's directory, held as long as the value
/// lives: every process that opens the collection holds it shared, and an operation that must
/// have the files to itself (compaction, which swaps `data.mdb`) holds it exclusive. Neither
/// waits: a lock that is taken the other way fails at once with `StoreError.locked`. The
/// kernel drops the lock when the process dies, so a killed process leaves nothing behind.
public final class DirectoryLock: @unchecked Sendable {
    /// The lock file's name inside the directory.
    public static let fileName = "quarry.lock"

    public enum Mode: Sendable {
        case shared
        case exclusive
    }

    public let mode: Mode
    private let descriptor: Int32

    /// Takes the lock on `directory`'s lock file (created when absent) in `mode`.
    public init(directory: String, mode: Mode) throws {
        let path = directory + "/" + Self.fileName
        let descriptor = openLockFile(path)
        guard descriptor >= 0 else {
            throw StoreError.lmdb(code: errno, operation: "open the lock file \(path)", path: directory)
        }
        let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB
        var code: Int32
        repeat { code = flock(descriptor, operation) } while code != 0 && errno == EINTR
        guard code == 0 else {
            let failure = errno
            close(descriptor)
            if failure == EWOULDBLOCK {
                throw StoreError.locked(
                    path: directory,
                    reason: mode == .shared
                        ? "it is being compacted by another process; open it when that has finished"
                        : "another process has it open; stop that process (e.g. quarry serve) first")
            }
            throw StoreError.lmdb(code: failure, operation: "lock \(path)", path: directory)
        }
        self.mode = mode
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }  // closing the only descriptor releases the lock
}

/// `open(path, O_RDWR | O_CREAT)` (a free function, where `open` names the C call).
private func openLockFile(_ path: String) -> Int32 { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
