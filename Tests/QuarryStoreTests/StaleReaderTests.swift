import Foundation
import QuarryStore
import QuarryTestSupport
import Testing

/// A process killed while it holds a read transaction leaves its reader slot behind, which
/// pins the pages of that snapshot: every later write then takes fresh pages and the file
/// grows. The environment clears such slots at open and every few write transactions.
@Suite struct StaleReaderTests {
    static let helper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/harness/hold_reader.py").path

    /// Starts a process that opens `directory`'s environment, begins a read and waits.
    func startReader(_ directory: String) async throws -> ChildProcess {
        let reader = try ChildProcess("/usr/bin/env", ["python3", Self.helper, directory])
        let line = await reader.output(containing: "\n")
        #expect(line == "ready\n", "the reader process said \(line)")
        return reader
    }

    /// Kills `reader` and waits until it is gone.
    func kill9(_ reader: ChildProcess) async {
        reader.send(SIGKILL)
        _ = await reader.finish()
    }

    @Test func aKilledReadersSlotIsClearedAndWritesReusePages() async throws {
        try await withTemporaryDirectory { directory in
            let environment = try makeEnvironment(directory)
            let database = try environment.openDatabase("data", create: true)
            let payload = pseudoRandomBytes(count: 64 << 10, seed: 3)
            try environment.write { try $0.put(database, key: bytes("value"), value: payload) }

            let reader = try await startReader(directory)
            #expect(try environment.readerProcesses().contains(reader.processIdentifier))
            await kill9(reader)
            // Dead, but its slot (and the snapshot it pins) stays until cleared.
            #expect(try environment.readerProcesses().contains(reader.processIdentifier))

            let rounds = 5 * LMDBEnvironment.readerCheckInterval
            for round in 0..<rounds {
                var changed = payload
                changed[round % payload.count] &+= 1
                try environment.write { try $0.put(database, key: bytes("value"), value: changed) }
            }
            #expect(try !environment.readerProcesses().contains(reader.processIdentifier))
            // Pinned for at most one check interval: far less than a fresh copy per write.
            let size = try environment.sizeOnDisk()
            #expect(size < (LMDBEnvironment.readerCheckInterval + 32) * (payload.count + 8192), "\(size) bytes")
            #expect(size < rounds * payload.count / 2)
        }
    }

    @Test func openingClearsTheSlotsOfDeadReaders() async throws {
        try await withTemporaryDirectory { directory in
            do {
                let environment = try makeEnvironment(directory)
                let database = try environment.openDatabase("data", create: true)
                try environment.write { try $0.put(database, key: bytes("k"), value: bytes("v")) }
            }
            // A live reader keeps LMDB from resetting the reader table at the next open.
            let live = try await startReader(directory)
            let dead = try await startReader(directory)
            await kill9(dead)
            let environment = try makeEnvironment(directory)
            let readers = try environment.readerProcesses()
            #expect(readers.contains(live.processIdentifier) && !readers.contains(dead.processIdentifier))
            #expect(try environment.clearStaleReaders() == 0)
            await kill9(live)
        }
    }
}
