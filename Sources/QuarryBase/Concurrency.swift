import Foundation

/// Runs `body(part)` for every `part` in `0..<parts`, concurrently when there are several,
/// and returns once all have finished. The parts must write disjoint memory.
package func concurrently(_ parts: Int, _ body: (_ part: Int) -> Void) {
    guard parts > 1 else {
        if parts == 1 { body(0) }
        return
    }
    withoutActuallyEscaping(body) { body in
        // concurrentPerform returns only after every part has run, so `body` outlives them all.
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: parts) { body($0) }
    }
}

/// `concurrently` for parts that can fail: runs them all, then rethrows the first part's error
/// (by part number), if any.
package func concurrentlyThrowing(_ parts: Int, _ body: (_ part: Int) throws -> Void) throws {
    var failures = [(any Error)?](repeating: nil, count: parts)
    failures.withUnsafeMutableBufferPointer { failures in
        concurrently(parts) { part in
            do { try body(part) } catch { failures[part] = error }
        }
    }
    if let failure = failures.compactMap({ $0 }).first { throw failure }
}
