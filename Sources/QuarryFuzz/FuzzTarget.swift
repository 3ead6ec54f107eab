import Foundation

/// A parser under fuzzing: `run` feeds it one input; a thrown error is an accepted outcome
/// (bad input rejected), a crash, trap or hang is a finding.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What the target reads, in a few words.
    public let summary: String
    /// Whether inputs are JSON (or JSON lines), so the JSON-aware mutations apply.
    public let isJSON: Bool
    /// The longest input the mutator makes.
    public let maxLength: Int
    let run: @Sendable (Data, FuzzScratch) throws -> Void

    init(
        _ name: String, _ summary: String, isJSON: Bool = false, maxLength: Int = 1 << 16,
        run: @escaping @Sendable (Data, FuzzScratch) throws -> Void
    ) {
        self.name = name
        self.summary = summary
        self.isJSON = isJSON
        self.maxLength = maxLength
        self.run = run
    }

}

/// A private directory for targets whose parser reads files: each input is written to a file
/// in it before the parser opens it.
public final class FuzzScratch: @unchecked Sendable {  // used by one fuzzing thread
    public let directory: URL

    /// In /dev/shm where there is one: writing and truncating a file there costs a twentieth
    /// of what it costs on a disk-backed temporary directory.
    public init() throws {
        let memory = URL(fileURLWithPath: "/dev/shm")
        let parent =
            FileManager.default.isWritableFile(atPath: memory.path) ? memory : FileManager.default.temporaryDirectory
        directory = parent.appendingPathComponent(
            "quarry-fuzz-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes `data` to `name` inside the scratch directory (or its subdirectory `folder`, which
    /// then holds that file alone) and returns the file's URL.
    func write(_ data: Data, to name: String, inFolder folder: String? = nil) throws -> URL {
        var parent = directory
        if let folder {
            parent = directory.appendingPathComponent(folder)
            if !FileManager.default.fileExists(atPath: parent.path) {
                try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            }
        }
        let file = parent.appendingPathComponent(name)
        try data.write(to: file)
        return file
    }
}

/// An input a decoder that returns nil (rather than throwing) did not accept.
struct Rejected: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A property a target checks beyond "does not crash"; the runner counts it as an outcome
/// and the short runs in the tests fail on it.
struct FuzzFinding: Error, CustomStringConvertible {
    static let prefix = "finding: "
    let description: String
    init(_ description: String) { self.description = Self.prefix + description }
}
