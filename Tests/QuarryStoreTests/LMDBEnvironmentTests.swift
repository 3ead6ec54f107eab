import Foundation
import QuarrySchema
import QuarryStore
import Testing

@Suite struct LMDBEnvironmentTests {
    @Test func putGetRoundTrip() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let items = try environment.openDatabase("items", create: true)
            try environment.write { transaction in
                try transaction.put(items, key: bytes("alpha"), value: bytes("one"))
                try transaction.put(items, key: bytes("beta"), value: [])
                bytes("gamma").withUnsafeBytes { key in
                    [UInt8](repeating: 7, count: 5000).withUnsafeBytes { value in
                        #expect((try? transaction.put(items, key: key, value: value)) == true)
                    }
                }
                // A write transaction sees its own changes.
                #expect(try transaction.get(items, key: bytes("alpha")).map { Array($0) } == bytes("one"))
            }
            #expect(try value(environment, items, bytes("alpha")) == bytes("one"))
            #expect(try value(environment, items, bytes("beta")) == [])
            #expect(try value(environment, items, bytes("gamma")) == [UInt8](repeating: 7, count: 5000))
            #expect(try value(environment, items, bytes("missing")) == nil)
            #expect(try environment.entryCount(items) == 3)

            try environment.write { transaction in
                try transaction.put(items, key: bytes("alpha"), value: bytes("uno"))
                #expect(try transaction.delete(items, key: bytes("beta")))
                #expect(try !transaction.delete(items, key: bytes("beta")))
            }
            #expect(try value(environment, items, bytes("alpha")) == bytes("uno"))
            #expect(try value(environment, items, bytes("beta")) == nil)
            #expect(try environment.entryCount(items) == 2)
            #expect(try environment.sizeOnDisk() > 0)
        }
    }

    @Test func databasesAreSeparateAndCached() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let first = try environment.openDatabase("first", create: true)
            let second = try environment.openDatabase("second", create: true)
            #expect(first != second)
            #expect(try environment.openDatabase("first") == first)
            try environment.write { transaction in
                try transaction.put(first, key: bytes("k"), value: bytes("in first"))
            }
            #expect(try value(environment, second, bytes("k")) == nil)
            #expect(throws: StoreError.databaseNotFound(name: "absent", path: directory)) {
                try environment.openDatabase("absent")
            }
        }
    }

    @Test func iterationIsOrderedAndPrefixBounded() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let lists = try environment.openDatabase("lists", create: true)
            let numbers: [UInt32] = [300, 2, 70_000, 1, 256, 9]
            try environment.write { transaction in
                for list in numbers {
                    for block: UInt32 in [3, 0, 1] {
                        try transaction.put(
                            lists, key: BigEndian.u32u32(list, block), value: BigEndian.u32(list &+ block))
                    }
                }
            }
            try environment.read { transaction in
                var seen: [(UInt32, UInt32)] = []
                try transaction.forEach(lists) { key, value in
                    let list = try BigEndian.readU32(from: key)
                    #expect(try BigEndian.readU32(from: value) == list &+ BigEndian.readU32(from: key, at: 4))
                    seen.append((list, try BigEndian.readU32(from: key, at: 4)))
                    return true
                }
                let expected = numbers.sorted().flatMap { list in [0, 1, 3].map { (list, UInt32($0)) } }
                #expect(seen.map(\.0) == expected.map(\.0))
                #expect(seen.map(\.1) == expected.map(\.1))

                var fromNine: [UInt32] = []
                try transaction.forEach(lists, from: BigEndian.u32u32(9, 2)) { key, _ in
                    fromNine.append(try BigEndian.readU32(from: key, at: 4))
                    return fromNine.count < 3
                }
                #expect(fromNine == [3, 0, 1])  // (9,3), then list 256's blocks 0 and 1; stopped at 3

                var blocksOf256: [UInt32] = []
                try transaction.forEach(lists, prefix: BigEndian.u32(256)) { key, _ in
                    #expect(try BigEndian.readU32(from: key) == 256)
                    blocksOf256.append(try BigEndian.readU32(from: key, at: 4))
                    return true
                }
                #expect(blocksOf256 == [0, 1, 3])

                var none = 0
                try transaction.forEach(lists, prefix: BigEndian.u32(5)) { _, _ in
                    none += 1
                    return true
                }
                #expect(none == 0)

                let last = try #require(try transaction.last(lists))
                #expect(last.key == BigEndian.u32u32(70_000, 3))
                #expect(try BigEndian.readU32(from: last.value) == 70_003)
            }
            let empty = try environment.openDatabase("empty", create: true)
            #expect(try environment.read { try $0.last(empty) } == nil)
        }
    }

    @Test func noOverwriteAndAppend() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let items = try environment.openDatabase("items", create: true)
            let ordered = try environment.openDatabase("ordered", create: true)
            try environment.write { transaction throws in
                #expect(try transaction.put(items, key: bytes("k"), value: bytes("first"), noOverwrite: true))
                #expect(try !transaction.put(items, key: bytes("k"), value: bytes("second"), noOverwrite: true))
                for number: UInt64 in [1, 2, 5, 9] {
                    #expect(try transaction.put(ordered, key: BigEndian.u64(number), value: [], append: true))
                }
                #expect(
                    try !transaction.put(ordered, key: BigEndian.u64(9), value: [1], noOverwrite: true, append: true))
                let error = #expect(throws: StoreError.self) {
                    try transaction.put(ordered, key: BigEndian.u64(3), value: [], append: true)
                }
                #expect(error?.description.contains("append requires each key to sort after") == true)
                // An out-of-order append does not spoil the transaction.
                #expect(try transaction.put(ordered, key: BigEndian.u64(10), value: [], append: true))
            }
            #expect(try value(environment, items, bytes("k")) == bytes("first"))
            #expect(try value(environment, ordered, BigEndian.u64(3)) == nil)
            #expect(try value(environment, ordered, BigEndian.u64(9)) == [])
            #expect(try environment.entryCount(ordered) == 5)
        }
    }

    @Test func reserveAndClear() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let vectors = try environment.openDatabase("vectors", create: true)
            try environment.write { transaction in
                let slot = try transaction.reserve(vectors, key: BigEndian.u64(1), count: 16)
                #expect(slot.count == 16)
                for index in slot.indices { slot[index] = UInt8(index) }
                try transaction.put(vectors, key: BigEndian.u64(2), value: [42])
            }
            #expect(try value(environment, vectors, BigEndian.u64(1)) == Array(0..<16))
            try environment.write { transaction in try transaction.clear(vectors) }
            #expect(try environment.entryCount(vectors) == 0)
            // The database survives clearing.
            try environment.write { transaction in try transaction.put(vectors, key: BigEndian.u64(3), value: [3]) }
            #expect(try value(environment, vectors, BigEndian.u64(3)) == [3])
        }
    }

    @Test func throwingWriteBodyLeavesNothing() throws {
        struct Abandon: Error {}
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let items = try environment.openDatabase("items", create: true)
            try environment.write { transaction in try transaction.put(items, key: bytes("kept"), value: [1]) }
            #expect(throws: Abandon.self) {
                try environment.write { transaction in
                    try transaction.put(items, key: bytes("dropped"), value: [2])
                    try transaction.put(items, key: bytes("kept"), value: [3])
                    try transaction.delete(items, key: bytes("kept"))
                    throw Abandon()
                }
            }
            #expect(try value(environment, items, bytes("dropped")) == nil)
            #expect(try value(environment, items, bytes("kept")) == [1])
            #expect(try environment.entryCount(items) == 1)
            // The writer is free again.
            try environment.write { transaction in try transaction.put(items, key: bytes("after"), value: [4]) }
            #expect(try value(environment, items, bytes("after")) == [4])
        }
    }

    @Test func mapGrowsAndRerunsTheWriteBody() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory, initialMapSize: 64 << 10)
            #expect(environment.mapSize == 64 << 10)
            let items = try environment.openDatabase("items", create: true)
            let payload = pseudoRandomBytes(count: 4096, seed: 7)
            var runs = 0
            for batch: UInt32 in 0..<8 {
                try environment.write { transaction in
                    runs += 1
                    // Only the final run's marker may survive.
                    try transaction.put(items, key: bytes("run-\(runs)"), value: [])
                    for index: UInt32 in 0..<128 {
                        try transaction.put(items, key: BigEndian.u32u32(batch, index), value: payload)
                    }
                }
            }
            #expect(runs > 8)  // at least one batch filled the map and ran again
            #expect(environment.mapSize >= 4 << 20)
            let markers = try environment.read { transaction in
                var count = 0
                try transaction.forEach(items, prefix: bytes("run-")) { _, _ in
                    count += 1
                    return true
                }
                return count
            }
            #expect(markers == 8)
            try environment.read { transaction in
                for batch: UInt32 in 0..<8 {
                    for index: UInt32 in 0..<128 {
                        let stored = try #require(try transaction.get(items, key: BigEndian.u32u32(batch, index)))
                        #expect(stored.elementsEqual(payload))
                    }
                }
            }
        }
    }

    @Test func maxMapSizeGivesMapFullAndKeepsEarlierCommits() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory, initialMapSize: 64 << 10, maxMapSize: 256 << 10)
            let items = try environment.openDatabase("items", create: true)
            try environment.write { transaction in try transaction.put(items, key: bytes("early"), value: [1, 2, 3]) }
            let big = [UInt8](repeating: 1, count: 8192)
            #expect(throws: StoreError.mapFull(limit: 256 << 10, path: directory)) {
                try environment.write { transaction in
                    for index: UInt32 in 0..<128 {
                        try transaction.put(items, key: BigEndian.u32(index), value: big)
                    }
                }
            }
            #expect(environment.mapSize == 256 << 10)
            #expect(try value(environment, items, bytes("early")) == [1, 2, 3])
            #expect(try environment.entryCount(items) == 1)
            // Small writes still fit.
            try environment.write { transaction in try transaction.put(items, key: bytes("later"), value: [4]) }
            #expect(try value(environment, items, bytes("later")) == [4])
        }
    }

    @Test func reopenSeesCommittedData() throws {
        try withTemporaryDirectory { directory in
            do {
                let environment = try makeEnvironment(directory)
                let items = try environment.openDatabase("items", create: true)
                try environment.write { transaction in try transaction.put(items, key: bytes("k"), value: bytes("v")) }
                #expect(throws: StoreError.alreadyOpen(path: directory)) {
                    try LMDBEnvironment(directory: directory, options: .init())
                }
            }
            let reopened = try LMDBEnvironment(directory: directory, options: .init(readOnly: true))
            let items = try reopened.openDatabase("items")
            #expect(try value(reopened, items, bytes("k")) == bytes("v"))
            #expect(throws: StoreError.self) {
                try reopened.write { transaction in try transaction.put(items, key: bytes("k"), value: [1]) }
            }
        }
    }

    @Test func readerSnapshotStaysConsistentWhileWriterCommits() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let pair = try environment.openDatabase("pair", create: true)
            try environment.write { transaction in
                try transaction.put(pair, key: bytes("a"), value: BigEndian.u64(0))
                try transaction.put(pair, key: bytes("b"), value: BigEndian.u64(0))
            }
            let readerStarted = DispatchSemaphore(value: 0)
            let writerCommitted = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                readerStarted.wait()
                try? environment.write { transaction in
                    try transaction.put(pair, key: bytes("a"), value: BigEndian.u64(1))
                    try transaction.put(pair, key: bytes("b"), value: BigEndian.u64(1))
                }
                writerCommitted.signal()
            }
            try environment.read { transaction in
                let a = try BigEndian.readU64(from: try #require(try transaction.get(pair, key: bytes("a"))))
                readerStarted.signal()
                writerCommitted.wait()
                let b = try BigEndian.readU64(from: try #require(try transaction.get(pair, key: bytes("b"))))
                #expect(a == 0)
                #expect(b == 0)  // the old snapshot, though the writer has committed
            }
            #expect(try value(environment, pair, bytes("b")) == BigEndian.u64(1))

            // Many commits against many snapshots: a and b always agree.
            let writerDone = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                for round: UInt64 in 2..<100 {
                    try? environment.write { transaction in
                        try transaction.put(pair, key: bytes("a"), value: BigEndian.u64(round))
                        try transaction.put(pair, key: bytes("b"), value: BigEndian.u64(round))
                    }
                }
                writerDone.signal()
            }
            for _ in 0..<200 {
                try environment.read { transaction in
                    let a = try #require(try transaction.get(pair, key: bytes("a")))
                    let b = try #require(try transaction.get(pair, key: bytes("b")))
                    #expect(a.elementsEqual(b))
                }
            }
            writerDone.wait()
            #expect(try value(environment, pair, bytes("a")) == BigEndian.u64(99))
        }
    }

    @Test func readersStayValidWhileTheMapGrows() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory, initialMapSize: 64 << 10)
            let items = try environment.openDatabase("items", create: true)
            let anchor = pseudoRandomBytes(count: 3000, seed: 11)
            try environment.write { transaction in try transaction.put(items, key: bytes("anchor"), value: anchor) }
            let failures = Failures()
            let writerDone = DispatchSemaphore(value: 0)
            let finished = Flag()
            Thread.detachNewThread {
                let payload = [UInt8](repeating: 1, count: 4096)
                do {
                    for batch: UInt32 in 0..<32 {
                        try environment.write { transaction in
                            for index: UInt32 in 0..<16 {
                                try transaction.put(items, key: BigEndian.u32u32(batch, index), value: payload)
                            }
                        }
                    }
                } catch {
                    failures.record(error)
                }
                finished.set()
                writerDone.signal()
            }
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                while !finished.isSet {
                    do {
                        try environment.read { transaction in
                            // The buffer points into the map; a resize under it would unmap it.
                            guard let stored = try transaction.get(items, key: bytes("anchor")) else {
                                throw StoreError.corruptData("anchor missing")
                            }
                            sched_yield()
                            if !stored.elementsEqual(anchor) { throw StoreError.corruptData("anchor changed") }
                        }
                    } catch {
                        failures.record(error)
                        return
                    }
                }
            }
            writerDone.wait()
            #expect(failures.errors.isEmpty)
            #expect(environment.mapSize >= 512 << 10)
            #expect(try environment.entryCount(items) == 1 + 32 * 16)
        }
    }

    @Test func readWaitingOnAnotherThreadsReadSurvivesAPendingGrowth() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory, initialMapSize: 64 << 10)
            let items = try environment.openDatabase("items", create: true)
            try environment.write { transaction in try transaction.put(items, key: bytes("k"), value: [1]) }
            let writerMayStart = DispatchSemaphore(value: 0)
            let writerDone = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                writerMayStart.wait()
                // Needs several growths, each waiting for the outer read below to end.
                try? environment.write { transaction in
                    for index: UInt32 in 0..<64 {
                        try transaction.put(items, key: BigEndian.u32(index), value: [UInt8](repeating: 2, count: 4096))
                    }
                }
                writerDone.signal()
            }
            try environment.read { _ in
                writerMayStart.signal()
                usleep(50_000)  // the growth is now waiting for this read
                // A fanned-out read on another thread must not wait behind the pending growth.
                let innerDone = DispatchSemaphore(value: 0)
                Thread.detachNewThread {
                    _ = try? environment.read { try $0.get(items, key: bytes("k")) }
                    innerDone.signal()
                }
                #expect(innerDone.wait(timeout: .now() + 10) == .success)
            }
            #expect(writerDone.wait(timeout: .now() + 10) == .success)
            #expect(try environment.entryCount(items) == 65)
        }
    }

    @Test func concurrentWritersTakeTurns() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory, initialMapSize: 64 << 10)
            let counters = try environment.openDatabase("counters", create: true)
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 4) { thread in
                do {
                    for round in 0..<15 {
                        try environment.write { transaction in
                            let current =
                                try transaction.get(counters, key: bytes("n")).map { try BigEndian.readU64(from: $0) }
                                ?? 0
                            try transaction.put(counters, key: bytes("n"), value: BigEndian.u64(current + 1))
                            // Grow the map now and then, while other threads read and wait to write.
                            let filler = [UInt8](repeating: 0, count: 4096)
                            try transaction.put(
                                counters, key: BigEndian.u32u32(UInt32(thread), UInt32(round)), value: filler)
                        }
                        _ = try environment.read { try $0.get(counters, key: bytes("n")) }
                    }
                } catch {
                    failures.record(error)
                }
            }
            #expect(failures.errors.isEmpty)
            #expect(try value(environment, counters, bytes("n")) == BigEndian.u64(60))
            #expect(environment.mapSize > 64 << 10)
        }
    }

    @Test func keysAreCheckedBeforeLMDBSeesThem() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let items = try environment.openDatabase("items", create: true)
            let numbered = try environment.openDatabase("numbered", create: true, integerKeys: true)
            #expect(environment.maxKeySize == 511)
            try environment.write { transaction throws in
                #expect(try transaction.put(items, key: [UInt8](repeating: 1, count: 511), value: [1]))
                #expect(throws: StoreError.keyTooLarge(size: 512, max: 511)) {
                    try transaction.put(items, key: [UInt8](repeating: 1, count: 512), value: [1])
                }
                #expect(throws: StoreError.invalidKey(reason: "keys must not be empty", operation: "put into 'items'"))
                {
                    try transaction.put(items, key: [], value: [1])
                }
                #expect(throws: StoreError.self) { try transaction.put(numbered, key: [1, 2, 3], value: [1]) }
                let nativeSeven = withUnsafeBytes(of: UInt32(7)) { Array($0) }
                #expect(try transaction.put(numbered, key: nativeSeven, value: [7]))
            }
            #expect(throws: StoreError.keyTooLarge(size: 600, max: 511)) {
                try environment.read { try $0.get(items, key: [UInt8](repeating: 0, count: 600)) }
            }
            #expect(try value(environment, items, [UInt8](repeating: 1, count: 511)) == [1])
        }
    }

    @Test func misuseFailsClearlyInsteadOfDeadlocking() throws {
        try withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let items = try environment.openDatabase("items", create: true)
            #expect(throws: StoreError.nestedTransaction(operation: "write")) {
                try environment.read { _ in try environment.write { _ in } }
            }
            #expect(throws: StoreError.nestedTransaction(operation: "write")) {
                try environment.write { _ in try environment.write { _ in } }
            }
            #expect(throws: StoreError.self) {
                try environment.write { _ in try environment.openDatabase("new", create: true) }
            }
            // Reads nest, and a read inside a write sees the last commit.
            try environment.write { transaction in
                try transaction.put(items, key: bytes("k"), value: [1])
                #expect(try environment.read { try $0.get(items, key: bytes("k")) } == nil)
                #expect(try environment.openDatabase("items", create: true) == items)
            }
            let escaped = try environment.read { $0 }
            #expect(throws: StoreError.transactionFinished(operation: "get")) {
                try escaped.get(items, key: bytes("k"))
            }
        }
    }

    @Test func copyCompactedOpensWithTheSameData() throws {
        try withTemporaryDirectory { directory in
            let source = directory + "/source"
            let copy = directory + "/copy"
            let environment = try makeEnvironment(source)
            let items = try environment.openDatabase("items", create: true)
            let payload = [UInt8](repeating: 9, count: 1000)
            try environment.write { transaction in
                for index: UInt32 in 0..<2000 { try transaction.put(items, key: BigEndian.u32(index), value: payload) }
            }
            try environment.write { transaction in
                for index: UInt32 in 0..<2000 where index % 4 != 0 {
                    try transaction.delete(items, key: BigEndian.u32(index))
                }
            }
            try environment.copyCompacted(to: copy)
            let copied = try LMDBEnvironment(directory: copy, options: .init(readOnly: true))
            let copiedItems = try copied.openDatabase("items")
            #expect(try copied.entryCount(copiedItems) == 500)
            #expect(try value(copied, copiedItems, BigEndian.u32(8)) == payload)
            #expect(try value(copied, copiedItems, BigEndian.u32(9)) == nil)
            #expect(try copied.sizeOnDisk() < environment.sizeOnDisk())
            #expect(throws: StoreError.self) { try environment.copyCompacted(to: copy) }
        }
    }
}

/// A flag one thread sets and others poll.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Errors collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [any Error] = []

    func record(_ error: any Error) { lock.withLock { collected.append(error) } }
    var errors: [any Error] { lock.withLock { collected } }
}
