import Foundation

/// Dedicated threads for CPU-bound or blocking work (embedding, searching, LMDB writes), kept
/// off NIO's event loops and Swift's cooperative pool, with a bounded queue: work offered while
/// every thread is busy and `queueLimit` jobs already wait is refused at once.
public final class WorkPool: @unchecked Sendable {  // mutable fields only under `condition`
    /// Threads that run jobs.
    public let threadCount: Int
    /// Jobs that may wait for a free thread.
    public let queueLimit: Int

    private let condition = NSCondition()
    private var waiting: [@Sendable () -> Void] = []
    private var running = 0
    private var stopping = false

    /// Thrown by `run` when the pool and its queue are full.
    public struct Full: Error {
        /// The limit the queue was at.
        public let queueLimit: Int
    }

    /// Starts `threadCount` threads (at least one), named `name-0`, `name-1`, …; at most
    /// `queueLimit` jobs wait beyond those running.
    public init(name: String, threadCount: Int, queueLimit: Int) {
        self.threadCount = max(1, threadCount)
        self.queueLimit = max(0, queueLimit)
        for index in 0..<self.threadCount {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Jobs running or waiting.
    public var jobsInFlight: Int { condition.withLock { running + waiting.count } }

    /// Runs `body` on one of the pool's threads and returns its result; throws `Full` without
    /// running it when the pool cannot take more work.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = condition.withLock {
                guard !stopping, running + waiting.count < threadCount + queueLimit else { return false }
                waiting.append { continuation.resume(with: Result { try body() }) }
                condition.signal()
                return true
            }
            if !accepted { continuation.resume(throwing: Full(queueLimit: queueLimit)) }
        }
    }

    /// Lets the threads end once the queued jobs are done; later work is refused.
    public func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    private func work() {
        while true {
            let job: (@Sendable () -> Void)? = condition.withLock {
                while waiting.isEmpty && !stopping { condition.wait() }
                guard !waiting.isEmpty else { return nil }
                running += 1
                return waiting.removeFirst()
            }
            guard let job else { return }
            job()
            condition.withLock { running -= 1 }
        }
    }
}
