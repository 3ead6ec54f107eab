import Foundation
import QuarryBase
import Testing

@Suite struct WorkPoolTests {
    /// Waits (up to 10 s) until `condition` holds.
    private func eventually(_ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { return }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
    }

    @Test func refusesBeyondItsQueueLimitAndRunsWhatItAccepted() async throws {
        let pool = WorkPool(name: "test-refuse", threadCount: 1, queueLimit: 2)
        defer { pool.stop() }
        let gate = DispatchSemaphore(value: 0)
        let blocker = Task { try await pool.run { gate.wait() } }
        try await eventually { pool.jobsInFlight == 1 }
        let queued = (1...2).map { value in Task { try await pool.run { value * 10 } } }
        try await eventually { pool.jobsInFlight == 3 }
        #expect(pool.jobsInFlight == 3)
        await #expect(throws: WorkPool.Full.self) { try await pool.run { 0 } }
        gate.signal()
        try await blocker.value
        var results: [Int] = []
        for job in queued { results.append(try await job.value) }
        #expect(results == [10, 20])
        // With the queue drained it accepts work again.
        #expect(try await pool.run { 7 } == 7)
    }

    @Test func runsEveryAcceptedJobExactlyOnce() async throws {
        let pool = WorkPool(name: "test-all", threadCount: 3, queueLimit: 8)
        defer { pool.stop() }
        let runs = LockedBox([Int: Int]())
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for job in 0..<300 {
                group.addTask {
                    do {
                        let echoed = try await pool.run {
                            runs.withLock { $0[job, default: 0] += 1 }
                            return job
                        }
                        return (echoed, true)
                    } catch {
                        return (job, false)
                    }
                }
            }
            var outcomes: [(Int, Bool)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let accepted = Set(outcomes.filter(\.1).map(\.0))
        #expect(outcomes.count == 300)
        #expect(!accepted.isEmpty)
        #expect(runs.withLock { $0 } == Dictionary(uniqueKeysWithValues: accepted.map { ($0, 1) }))
    }

    @Test func refusesWorkOnceStopped() async throws {
        let pool = WorkPool(name: "test-stop", threadCount: 1, queueLimit: 4)
        #expect(try await pool.run { 1 } == 1)
        pool.stop()
        await #expect(throws: WorkPool.Full.self) { try await pool.run { 2 } }
    }
}
