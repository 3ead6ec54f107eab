import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Keeps a copy of the input being run where a signal handler can reach it, and on a crash
/// (SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGABRT: a Swift trap is SIGILL or SIGTRAP) writes it to
/// the crash file with async-signal-safe calls only (open, write, close), then lets the
/// previous handler (the Swift runtime's backtracer, or the default) finish the process. A
/// watchdog thread does the same for an input that runs longer than the time limit.
enum CrashCapture {
    // Written only by the fuzzing thread between inputs; read by the handler on that thread
    // (or by the watchdog, which only reads them to report a hang before aborting).
    nonisolated(unsafe) private static var inputBuffer: UnsafeMutablePointer<UInt8>?
    nonisolated(unsafe) private static var inputCapacity = 0
    nonisolated(unsafe) private static var inputLength = 0
    nonisolated(unsafe) private static var crashPath: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var message: UnsafeMutablePointer<CChar>?
    /// The handlers installed before, indexed by signal number (all below 32).
    nonisolated(unsafe) private static let previousActions: UnsafeMutablePointer<sigaction> = {
        let actions = UnsafeMutablePointer<sigaction>.allocate(capacity: 32)
        actions.initialize(repeating: sigaction(), count: 32)
        return actions
    }()
    nonisolated(unsafe) private static var inputStartedAt: UInt64 = 0
    nonisolated(unsafe) private static var installed = false

    static let signals: [Int32] = [SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGABRT]

    /// Installs the handlers (once per process) and names the file a crashing input goes to.
    static func install(crashFile: String, capacity: Int, hangSeconds: Double) {
        crashPath?.deallocate()
        crashPath = strdup(crashFile)
        message?.deallocate()
        message = strdup("\nquarry-fuzz: crashing input written to \(crashFile)\n")
        if capacity > inputCapacity {
            inputBuffer?.deallocate()
            inputBuffer = .allocate(capacity: capacity)
            inputCapacity = capacity
        }
        inputLength = 0
        guard !installed else { return }
        installed = true
        for signal in signals {
            var action = sigaction()
            #if canImport(Glibc)
                action.__sigaction_handler.sa_handler = { signal in CrashCapture.handle(signal) }
            #else
                action.__sigaction_u.__sa_handler = { signal in CrashCapture.handle(signal) }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, previousActions + Int(signal))
        }
        let limit = hangSeconds
        let watchdog = Thread {
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                let started = inputStartedAt
                if started != 0 && Double(DispatchTime.now().uptimeNanoseconds &- started) / 1e9 > limit {
                    writeInput()
                    let note = "\nquarry-fuzz: an input ran longer than \(limit) s (a hang)\n"
                    FileHandle.standardError.write(Data(note.utf8))
                    abort()
                }
            }
        }
        watchdog.start()
    }

    /// Records `input` as the one now running.
    static func begin(_ input: UnsafeRawBufferPointer) {
        let length = min(input.count, inputCapacity)
        if length > 0, let base = input.baseAddress, let buffer = inputBuffer {
            memcpy(buffer, base, length)
        }
        inputLength = length
        inputStartedAt = DispatchTime.now().uptimeNanoseconds
    }

    /// Marks that no input is running.
    static func end() { inputStartedAt = 0 }

    private static func writeInput() {
        guard let path = crashPath else { return }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if descriptor >= 0 {
            if let buffer = inputBuffer, inputLength > 0 { _ = write(descriptor, buffer, inputLength) }
            close(descriptor)
        }
        if let message { _ = write(2, message, strlen(message)) }
    }

    private static func handle(_ signal: Int32) {
        writeInput()
        // Restore the previous handler; the faulting instruction (or a re-raise) runs it.
        sigaction(signal, previousActions + Int(signal), nil)
        if signal == SIGABRT || signal == SIGTRAP { raise(signal) }
    }
}
