import QuarryBase
import Testing

@Suite struct LockedBoxTests {
    @Test func losesNoUpdateUnderContention() {
        let counter = LockedBox(0)
        let log = LockedBox([Int]())
        let threads = 8
        let increments = 20_000
        concurrently(threads) { thread in
            for _ in 0..<increments { counter.withLock { $0 += 1 } }
            log.withLock { $0.append(thread) }
        }
        #expect(counter.withLock { $0 } == threads * increments)
        #expect(log.withLock { $0.sorted() } == Array(0..<threads))
    }

    @Test func returnsWhatTheBodyReturnsAndKeepsItsChanges() {
        let box = LockedBox(["a": 1])
        let previous = box.withLock { values in
            defer { values["a", default: 0] += 1 }
            return values["a"]
        }
        #expect(previous == 1)
        #expect(box.withLock { $0 } == ["a": 2])
    }
}
