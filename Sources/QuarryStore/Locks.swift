import QuarryBase

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The lock between transactions (shared) and map resizes (exclusive).
///
/// A waiting resize pauses new shared lockers so that a stream of reads cannot starve it, but
/// only for 20 ms at a time: if the reads in flight have not drained by then (one may be
/// waiting for a read on another thread, which the pause holds up), the paused lockers are let
/// through and the resize tries again. So neither side can block the other for good.
final class MapLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let pauseLimitNanoseconds = 20_000_000
    private var sharedHolders = 0
    private var exclusiveClaimed = false  // a resizer is waiting or holds the lock
    private var exclusiveHeld = false
    private var readersPaused = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    func lockShared() {
        pthread_mutex_lock(mutex)
        while exclusiveHeld || readersPaused { pthread_cond_wait(changed, mutex) }
        sharedHolders += 1
        pthread_mutex_unlock(mutex)
    }

    func unlockShared() {
        pthread_mutex_lock(mutex)
        sharedHolders -= 1
        if sharedHolders == 0 { pthread_cond_broadcast(changed) }
        pthread_mutex_unlock(mutex)
    }

    func lockExclusive() {
        pthread_mutex_lock(mutex)
        while exclusiveClaimed { pthread_cond_wait(changed, mutex) }
        exclusiveClaimed = true
        while sharedHolders > 0 {
            // Pause new readers while the current ones drain…
            readersPaused = true
            waitForReadersToDrain()
            readersPaused = false
            pthread_cond_broadcast(changed)
            // …and if they did not, let the paused ones through for a while before pausing again.
            if sharedHolders > 0 { waitForReadersToDrain() }
        }
        exclusiveHeld = true
        pthread_mutex_unlock(mutex)
    }

    func unlockExclusive() {
        pthread_mutex_lock(mutex)
        exclusiveHeld = false
        exclusiveClaimed = false
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// Waits (holding `mutex`) until no shared holders remain or 20 ms pass.
    private func waitForReadersToDrain() {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanoseconds = Int(deadline.tv_nsec) + pauseLimitNanoseconds
        deadline.tv_sec += nanoseconds / 1_000_000_000
        deadline.tv_nsec = .init(nanoseconds % 1_000_000_000)
        while sharedHolders > 0 {
            if pthread_cond_timedwait(changed, mutex, &deadline) == ETIMEDOUT { return }
        }
    }
}

/// The environments open in this process, by the directory's device and inode, so that opening
/// one twice fails clearly instead of silently breaking LMDB's file locks.
final class OpenEnvironmentRegistry: Sendable {
    struct DirectoryIdentity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    static let shared = OpenEnvironmentRegistry()

    private let open = LockedBox(Set<DirectoryIdentity>())

    /// Records `identity` as open; false when it already is.
    func claim(_ identity: DirectoryIdentity) -> Bool {
        open.withLock { $0.insert(identity).inserted }
    }

    func release(_ identity: DirectoryIdentity) {
        _ = open.withLock { $0.remove(identity) }
    }
}
