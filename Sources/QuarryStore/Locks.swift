#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pthread mutex at a stable address.
final class PlainMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A pthread readers–writer lock at a stable address. Not recursive: a thread must not take the
/// shared side twice. Where the platform allows, a waiting exclusive locker goes before new
/// shared lockers, so a stream of readers cannot starve it.
final class ReadersWriterLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
            pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func lockShared() { pthread_rwlock_rdlock(lock) }
    func lockExclusive() { pthread_rwlock_wrlock(lock) }
    func unlock() { pthread_rwlock_unlock(lock) }
}

/// A per-thread counter (one pthread key), used to count the transactions a thread holds.
final class ThreadLocalCounter: @unchecked Sendable {
    private var key = pthread_key_t()

    init() { pthread_key_create(&key, nil) }

    deinit { pthread_key_delete(key) }

    /// The calling thread's count.
    var value: Int { Int(bitPattern: pthread_getspecific(key)) }

    func add(_ delta: Int) {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: value + delta))
    }
}

/// The environments open in this process, by the directory's device and inode, so that opening
/// one twice fails clearly instead of silently breaking LMDB's file locks.
final class OpenEnvironmentRegistry: @unchecked Sendable {
    struct DirectoryIdentity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    static let shared = OpenEnvironmentRegistry()

    private let mutex = PlainMutex()
    private var open: Set<DirectoryIdentity> = []

    /// Records `identity` as open; false when it already is.
    func claim(_ identity: DirectoryIdentity) -> Bool {
        mutex.withLock { open.insert(identity).inserted }
    }

    func release(_ identity: DirectoryIdentity) {
        _ = mutex.withLock { open.remove(identity) }
    }
}
