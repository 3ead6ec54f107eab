import Foundation
import QuarryStore
import QuarryTestSupport
import Testing

/// The input reader bounds what one line or counted read may hold, so a decompression bomb
/// or an endless line is an error rather than an exhausted memory.
@Suite struct InputReaderLimitTests {
    /// A gzip member of 1 MiB of "a" (no newline), made by the gzip command.
    private func gzipMember(in directory: String) async throws -> [UInt8] {
        let plain = directory + "/a"
        try Data(repeating: UInt8(ascii: "a"), count: 1 << 20).write(to: URL(fileURLWithPath: plain))
        #expect(try await runProcess("/bin/gzip", ["-9", plain]).status == 0)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
    }

    /// Reads lines until the end or an error; returns the lines and the error.
    private func readAll(_ path: String, maxRecordBytes: Int = InputReader.defaultMaxRecordBytes) throws -> (
        lines: Int, error: InputError?
    ) {
        let reader = try InputReader(path: path, maxRecordBytes: maxRecordBytes)
        var lines = 0
        do {
            while try reader.readLine() != nil { lines += 1 }
            return (lines, nil)
        } catch let error as InputError {
            return (lines, error)
        }
    }

    @Test func aGzipBombOfOneEndlessLineIsAnError() async throws {
        try await withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let member = try await gzipMember(in: directory)
            // 100 concatenated members: about 100 KB that decompress to 100 MiB without a newline.
            let bomb = directory + "/bomb.gz"
            try Data((0..<100).flatMap { _ in member }).write(to: URL(fileURLWithPath: bomb))
            let result = try readAll(bomb)
            guard case .tooLarge(_, let reason)? = result.error else {
                Issue.record("expected a too-large line, got \(String(describing: result.error))")
                return
            }
            #expect(reason.contains("line 1") && reason.contains("\(InputReader.defaultMaxRecordBytes)"))
        }
    }

    @Test func aZstdBombOfOneEndlessLineIsAnError() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let frame = try Zstd.compress([UInt8](repeating: UInt8(ascii: "z"), count: 1 << 20), level: 19)
            // Concatenated frames: a few KB that decompress to 100 MiB of one line.
            let bomb = directory + "/bomb.zst"
            try Data((0..<100).flatMap { _ in frame }).write(to: URL(fileURLWithPath: bomb))
            let result = try readAll(bomb)
            guard case .tooLarge? = result.error else {
                Issue.record("expected a too-large line, got \(String(describing: result.error))")
                return
            }
            // A line under the limit reads whole, across frames.
            let eight = directory + "/eight.zst"
            try Data((0..<8).flatMap { _ in frame }).write(to: URL(fileURLWithPath: eight))
            let lenient = try readAll(eight, maxRecordBytes: 8 << 20)
            #expect(lenient.lines == 1 && lenient.error == nil)
        }
    }

    @Test func anOverlongLineIsNamedAndShorterOnesRead() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = directory + "/lines"
            var bytes = Array("short\r\nalso short\n".utf8)
            bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 3 << 20)
            bytes += Array("\nafter\n".utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try readAll(path, maxRecordBytes: 1 << 20)
            #expect(result.lines == 2)
            guard case .tooLarge(_, let reason)? = result.error else {
                Issue.record("expected a too-large line, got \(String(describing: result.error))")
                return
            }
            #expect(reason.contains("line 3"))
            let whole = try readAll(path, maxRecordBytes: 4 << 20)
            #expect(whole.lines == 4 && whole.error == nil)
        }
    }

    @Test func aCountedReadOverTheLimitIsRefusedBeforeReading() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = directory + "/small"
            try Data("header\nbody".utf8).write(to: URL(fileURLWithPath: path))
            let reader = try InputReader(path: path)
            #expect(try reader.readLine() == Array("header".utf8))
            #expect(throws: InputError.self) { _ = try reader.read(count: Int.max) }
            #expect(throws: InputError.self) { _ = try reader.read(count: -1) }
            #expect(try reader.read(count: 4) == Array("body".utf8))
        }
    }
}
