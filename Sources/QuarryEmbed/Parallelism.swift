import CBLAS
import Foundation
import QuarryBase

// The encoders use several cores by encoding several packed batches at once, one per thread,
// each with single-threaded matrix products: measured on 2 cores, that beats one batch at a
// time with OpenBLAS threading (whose idle workers spin and yield between calls).

/// Threads for encoding: OpenBLAS's thread count when first asked (`OPENBLAS_NUM_THREADS`, by
/// default one per core), so one setting governs Quarry's encoders and its other BLAS work.
let encoderThreads = max(1, Int(openblas_get_num_threads()))

/// Holds OpenBLAS at one thread while `body` runs, for work that runs its own threads of matrix
/// products. OpenBLAS's setting is process-wide: it drops to one thread when the first such
/// scope begins and returns to `encoderThreads` when the last one ends; other BLAS calls made
/// meanwhile also run on one thread.
func withSingleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
    SingleThreadedBLAS.shared.enter()
    defer { SingleThreadedBLAS.shared.leave() }
    return try body()
}

/// The count of open `withSingleThreadedBLAS` scopes.
private final class SingleThreadedBLAS: @unchecked Sendable {  // `scopes` only under `lock`
    static let shared = SingleThreadedBLAS()
    private let lock = NSLock()
    private var scopes = 0

    func enter() {
        let threads = encoderThreads  // read before the first change, so it is OpenBLAS's own
        lock.withLock {
            if scopes == 0 && threads > 1 { openblas_set_num_threads(1) }
            scopes += 1
        }
    }

    func leave() {
        lock.withLock {
            scopes -= 1
            if scopes == 0 && encoderThreads > 1 { openblas_set_num_threads(Int32(encoderThreads)) }
        }
    }
}
