import Foundation
import QuarryBase
import Testing

@Suite struct PartPoolTests {
    @Test func runsEveryPartExactlyOnceOverManyForkJoins() {
        let width = 4
        let pool = PartPool(width: width)
        let rounds = 3_000
        var runs = [Int](repeating: 0, count: width)
        var expected = [Int](repeating: 0, count: width)
        runs.withUnsafeMutableBufferPointer { runs in
            for round in 0..<rounds {
                let parts = round % width + 1
                pool.run(parts) { part in runs[part] += 1 }
                for part in 0..<parts { expected[part] += 1 }
            }
        }
        #expect(runs == expected)
    }

    @Test func eachRoundSeesEveryPartBeforeItReturns() {
        let pool = PartPool(width: 3)
        var incomplete = 0
        var marks = [Int](repeating: -1, count: 3)
        marks.withUnsafeMutableBufferPointer { marks in
            for round in 0..<2_000 {
                pool.run(3) { part in marks[part] = round }
                if marks.contains(where: { $0 != round }) { incomplete += 1 }
            }
        }
        #expect(incomplete == 0)
    }

    @Test func servesCallersOnSeveralThreadsTakingTurns() {
        let pool = PartPool(width: 3)
        let turn = PlainMutex()
        let callers = 4
        let roundsPerCaller = 400
        // Per caller and part: how often the part ran, and how often part 0 ran off the caller's thread.
        var runs = [Int](repeating: 0, count: callers * 3)
        var partZeroElsewhere = [Int](repeating: 0, count: callers)
        runs.withUnsafeMutableBufferPointer { runs in
            partZeroElsewhere.withUnsafeMutableBufferPointer { elsewhere in
                concurrently(callers) { caller in
                    for _ in 0..<roundsPerCaller {
                        turn.withLock {
                            let callingThread = pthread_self()
                            pool.run(3) { part in
                                runs[caller * 3 + part] += 1
                                if part == 0 && pthread_equal(pthread_self(), callingThread) == 0 {
                                    elsewhere[caller] += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(runs == [Int](repeating: roundsPerCaller, count: callers * 3))
        #expect(partZeroElsewhere == [Int](repeating: 0, count: callers))
    }

    @Test func runsFewerPartsThanItsWidthAndNoneAtZero() {
        let pool = PartPool(width: 4)
        var ran = [Bool](repeating: false, count: 4)
        ran.withUnsafeMutableBufferPointer { ran in pool.run(0) { ran[$0] = true } }
        #expect(ran == [false, false, false, false])
        ran.withUnsafeMutableBufferPointer { ran in pool.run(2) { ran[$0] = true } }
        #expect(ran == [true, true, false, false])
    }
}
