import Foundation

/// What a finished child process left: how it ended and what it wrote.
public struct ProcessOutcome: Sendable {
    /// The exit status, or the number of the signal that ended it (see `signalled`).
    public let status: Int32
    /// Whether a signal ended the process.
    public let signalled: Bool
    /// Everything it wrote to standard output.
    public let output: String
    /// Everything it wrote to standard error (empty when it went to standard output).
    public let errors: String
}

/// A child process whose waits (for output, for its end) run on threads of their own, never
/// on one of Swift concurrency's cooperative threads.
///
/// All test targets run in one process, as tasks on that pool, which has one thread a core.
/// A test that blocked a pool thread waiting for a child (minutes, on a loaded 2-core machine)
/// stalls every other test's tasks: a live HTTP test's server then cannot answer and its
/// client times out.
public final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let outputPipe = Pipe()
    private let errorPipe: Pipe?
    // What was read so far from each stream. Each stream is read by one call at a time.
    private let lock = NSLock()
    private var read: [Stream: Data] = [:]

    private enum Stream { case output, errors }

    /// Starts `executable` with `arguments` (and `environment` over the test process's own);
    /// with `mergingErrors`, standard error goes to standard output.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        mergingErrors: Bool = false
    ) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = outputPipe
        errorPipe = mergingErrors ? nil : Pipe()
        process.standardError = errorPipe ?? outputPipe
        try process.run()
    }

    /// The child's process id.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// Reads standard output until what was read holds `marker` or the stream ends; returns
    /// everything read from it so far.
    public func output(containing marker: String) async -> String {
        await offPool { [self] in read(.output, until: marker) }
    }

    /// Reads standard error until what was read holds `marker` or the stream ends; returns
    /// everything read from it so far. With `signal`, sends it the moment the marker is read
    /// (from the reading thread: the awaiting task may resume only much later on a busy pool).
    public func errors(containing marker: String, thenSend signal: Int32? = nil) async -> String {
        await offPool { [self] in
            guard errorPipe != nil else { return "" }
            let text = read(.errors, until: marker)
            if let signal, text.contains(marker) { send(signal) }
            return text
        }
    }

    /// Sends `signal` to the child, if it still runs.
    public func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Reads both streams to their ends and waits for the child to exit.
    public func finish() async -> ProcessOutcome { await offPool { [self] in finishHere() } }

    /// `finish()` on the calling thread, which must not be a cooperative one (see `offPool`).
    public func finishHere() -> ProcessOutcome {
        // Standard error is drained on another thread, so that neither pipe fills and stalls the child.
        let errors = LockedText()
        let drained = DispatchSemaphore(value: 0)
        Thread { [self] in
            errors.set(errorPipe == nil ? "" : read(.errors, until: nil))
            drained.signal()
        }.start()
        let output = read(.output, until: nil)
        drained.wait()
        process.waitUntilExit()
        return ProcessOutcome(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            output: output, errors: errors.get())
    }

    /// Reads `stream` until what was read of it holds `marker` (to its end without one).
    private func read(_ stream: Stream, until marker: String?) -> String {
        let handle = (stream == .output ? outputPipe : errorPipe ?? outputPipe).fileHandleForReading
        let markerBytes = marker.map { Data($0.utf8) }
        var text = lock.withLock { read[stream] ?? Data() }
        while markerBytes.map({ text.range(of: $0) == nil }) ?? true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += chunk
        }
        lock.withLock { read[stream] = text }
        return String(decoding: text, as: UTF8.self)
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

/// A string one thread sets and another reads.
private final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func set(_ value: String) { lock.withLock { text = value } }
    func get() -> String { lock.withLock { text } }
}

/// Runs `executable` with `arguments` to its end; see `ChildProcess`.
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], mergingErrors: Bool = false
) async throws -> ProcessOutcome {
    try await ChildProcess(executable, arguments, environment: environment, mergingErrors: mergingErrors).finish()
}

/// Runs `work` on a thread of its own and waits for it without holding a cooperative thread:
/// for a test's long synchronous work (an in-process ingest that runs a child from a callback).
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// `offPool` for work that does not throw.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}
