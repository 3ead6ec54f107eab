import CQuarryKernels
import Foundation
import Synchronization

/// Threads kept ready for splitting one search into parts. Handing work to a parked thread
/// costs a wake-up of tens to hundreds of microseconds, as much as a whole top-1000 search's
/// share; these threads spin for about a millisecond after each task, so the fork-joins of one
/// search cost microseconds, and park when no task follows.
package final class PartPool: @unchecked Sendable {  // one caller at a time (see `run`)
    /// Parts a task can run on at once: the caller's thread and the pool's.
    package let width: Int
    private let shared: Shared

    /// What the pool's threads see; they hold it, so it outlives the pool.
    private final class Shared: @unchecked Sendable {  // mutable fields under `condition`
        let condition = NSCondition()
        let generation = Atomic<Int>(0)
        let unfinished = Atomic<Int>(0)
        var task: ((Int) -> Void)?
        var parts = 0
        var stopping = false
        var sleepers = 0
    }

    /// A pool of `width - 1` threads (the caller runs part 0).
    package init(width: Int) {
        self.width = max(1, width)
        let shared = Shared()
        self.shared = shared
        for part in 1..<self.width {
            Thread { Self.serve(part: part, shared: shared) }.start()
        }
    }

    deinit {
        shared.condition.withLock {
            shared.stopping = true
            shared.generation.add(1, ordering: .releasing)
            shared.condition.broadcast()
        }
    }

    /// Runs `body(part)` for `part` in `0..<parts` (at most `width`), part 0 on the calling
    /// thread, and returns when all have finished. Calls must not overlap.
    package func run(_ parts: Int, _ body: (_ part: Int) -> Void) {
        precondition(parts <= width)
        guard parts > 1 else {
            if parts == 1 { body(0) }
            return
        }
        let shared = self.shared
        withoutActuallyEscaping(body) { body in
            shared.condition.withLock {
                shared.task = body
                shared.parts = parts
                shared.unfinished.store(parts - 1, ordering: .relaxed)
                shared.generation.add(1, ordering: .releasing)
                if shared.sleepers > 0 { shared.condition.broadcast() }
            }
            body(0)
            while shared.unfinished.load(ordering: .acquiring) > 0 { qk_spin_pause() }
            shared.condition.withLock { shared.task = nil }
        }
    }

    /// How long an idle thread keeps spinning: longer than the serial stretches of a search.
    static let spinNanoseconds: UInt64 = 2_000_000

    private static func serve(part: Int, shared: Shared) {
        var seen = 0
        while true {
            // Spin (yielding now and then, so a thread that shares this core can run) for up to
            // `spinNanoseconds`, then sleep until the next task is announced.
            let spinUntil = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
            var spins = 0
            while shared.generation.load(ordering: .acquiring) == seen {
                qk_spin_pause()
                spins += 1
                if spins % 64 == 0 {
                    if DispatchTime.now().uptimeNanoseconds > spinUntil { break }
                    sched_yield()
                }
            }
            var work: ((Int) -> Void)?
            let stopping = shared.condition.withLock {
                while shared.generation.load(ordering: .acquiring) == seen {
                    shared.sleepers += 1
                    shared.condition.wait()
                    shared.sleepers -= 1
                }
                seen = shared.generation.load(ordering: .acquiring)
                work = part < shared.parts ? shared.task : nil
                return shared.stopping
            }
            if stopping { return }
            if work != nil {
                work!(part)
                // Let go of the task before reporting it done: `run` checks that none keeps it.
                work = nil
                shared.unfinished.subtract(1, ordering: .releasing)
            }
        }
    }
}
