import QuarryBase
import Testing

@Suite struct ConcurrentlyTests {
    @Test(arguments: [0, 1, 2, 7, 64])
    func runsEveryPartExactlyOnce(parts: Int) {
        var runs = [Int](repeating: 0, count: parts)
        runs.withUnsafeMutableBufferPointer { runs in
            concurrently(parts) { part in runs[part] += 1 }
        }
        #expect(runs == [Int](repeating: 1, count: parts))
    }

    struct PartFailed: Error, Equatable {
        let part: Int
    }

    @Test func rethrowsTheFirstFailingPartsErrorAfterRunningAllParts() {
        var runs = [Int](repeating: 0, count: 16)
        #expect(throws: PartFailed(part: 5)) {
            try runs.withUnsafeMutableBufferPointer { runs in
                try concurrentlyThrowing(16) { part in
                    runs[part] += 1
                    if part == 5 || part == 11 { throw PartFailed(part: part) }
                }
            }
        }
        #expect(runs == [Int](repeating: 1, count: 16))
    }

    @Test func returnsNormallyWhenNoPartFails() throws {
        var sums = [Int](repeating: 0, count: 8)
        try sums.withUnsafeMutableBufferPointer { sums in
            try concurrentlyThrowing(8) { part in sums[part] = (0...part).reduce(0, +) }
        }
        #expect(sums == [0, 1, 3, 6, 10, 15, 21, 28])
    }
}
