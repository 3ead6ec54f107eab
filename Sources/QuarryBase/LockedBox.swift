/// A value that threads share, reachable only while holding its lock.
///
/// Replaces a lock and the variables it guards declared side by side: the value cannot be
/// touched without the lock.
package final class LockedBox<Value>: @unchecked Sendable {  // `value` only under `mutex`
    private let mutex = PlainMutex()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, holding the lock; what `body` changes is kept.
    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try mutex.withLock { try body(&value) }
    }
}
