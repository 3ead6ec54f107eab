#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A count kept per thread (one pthread key): each thread reads and changes only its own, e.g.
/// the transactions it holds.
package final class ThreadLocalCounter: @unchecked Sendable {
    private var key = pthread_key_t()

    package init() { pthread_key_create(&key, nil) }

    deinit { pthread_key_delete(key) }

    /// The calling thread's count.
    package var value: Int { Int(bitPattern: pthread_getspecific(key)) }

    /// Adds `delta` to the calling thread's count.
    package func add(_ delta: Int) {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: value + delta))
    }
}
