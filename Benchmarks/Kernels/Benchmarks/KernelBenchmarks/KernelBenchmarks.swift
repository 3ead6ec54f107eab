import Benchmark
import CQuarryKernels

/// Single-thread throughput of the CQuarryKernels search kernels at every dispatch level this CPU
/// supports, next to a plain sequential read of memory. Every measured iteration processes
/// `Workload.itemsPerIteration` items (the scaling factor), so the throughput column reads as
/// codes, vectors or distances per second; the read reads as bytes per second.
let benchmarks: @Sendable () -> Void = {
    registerSequentialRead()
    for level in QK_LEVEL_PORTABLE.rawValue...UInt32(qk_detected_level()) {
        registerLevelledKernels(level: qk_level(rawValue: level))
    }
    registerSelection()
}

/// Up to 100 passes (each 5 to 500 ms), stopping after two seconds.
func configuration(scalingFactor: BenchmarkScalingFactor) -> Benchmark.Configuration {
    .init(
        metrics: [.throughput, .wallClock], warmupIterations: 1, scalingFactor: scalingFactor,
        maxDuration: .seconds(2), maxIterations: 100)
}

func levelName(_ level: qk_level) -> String {
    switch level {
    case QK_LEVEL_AVX2: "avx2"
    case QK_LEVEL_AVX512: "avx512"
    default: "portable"
    }
}

/// The memory bandwidth one core reaches reading a buffer front to back: a sum of 64-bit words
/// over the first 10^9 bytes of the records, which the compiler vectorises. The kernels' rates
/// are compared with it.
func registerSequentialRead() {
    Benchmark(
        "Sequential read, bytes", configuration: configuration(scalingFactor: .giga),
        closure: { benchmark in
            let words = UnsafeBufferPointer(
                start: Workload.records.baseAddress!.assumingMemoryBound(to: UInt64.self),
                count: benchmark.scaledIterations.count / 8)
            blackHole(words.reduce(0, &+))
        }, setup: { _ = Workload.records })
}

/// The prefilters over contiguous 1-bit codes and the INT8 dot products, at `level`.
func registerLevelledKernels(level: qk_level) {
    let name = levelName(level)
    let selectLevel: () -> Void = { qk_set_level(Int32(level.rawValue)) }

    Benchmark(
        "Hamming, 128 B codes (\(name))", configuration: configuration(scalingFactor: .mega),
        closure: { benchmark in
            qk_hamming_batch(
                Workload.queryCode.baseAddress, Workload.nextCodes(), Workload.codeBytes,
                benchmark.scaledIterations.count, Workload.distances.baseAddress)
        },
        setup: {
            _ = (Workload.records, Workload.queryCode, Workload.distances)
            selectLevel()
        })

    Benchmark(
        "Asymmetric 6 planes, 128 B codes (\(name))", configuration: configuration(scalingFactor: .mega),
        closure: { benchmark in
            qk_asymmetric_batch(
                Workload.queryPlaneBits.baseAddress, Int32(Workload.queryPlanes), Workload.planeOffset,
                Workload.nextCodes(), Workload.codeBytes, benchmark.scaledIterations.count,
                Workload.scores.baseAddress)
        },
        setup: {
            _ = (Workload.records, Workload.queryPlaneBits, Workload.scores)
            selectLevel()
        })

    Benchmark(
        "INT8 dot batch, 1032 B records (\(name))", configuration: configuration(scalingFactor: .mega),
        closure: { benchmark in
            qk_dot_i8_batch(
                Workload.queryVector.baseAddress, Workload.records.baseAddress, Workload.recordStride,
                Workload.dimensions, benchmark.scaledIterations.count, Workload.scores.baseAddress)
        },
        setup: {
            _ = (Workload.records, Workload.queryVector, Workload.scores)
            selectLevel()
        })

    Benchmark(
        "INT8 dot gather, 1032 B records in random order (\(name))",
        configuration: configuration(scalingFactor: .mega),
        closure: { benchmark in
            qk_dot_i8_gather(
                Workload.queryVector.baseAddress, Workload.shuffledVectors.baseAddress,
                benchmark.scaledIterations.count, Workload.dimensions, Workload.scores.baseAddress)
        },
        setup: {
            _ = (Workload.shuffledVectors, Workload.queryVector, Workload.scores)
            selectLevel()
        })
}

/// Candidate selection as the search runs it after the prefilter: the `candidates` smallest of
/// `distancesPerCall` Hamming distances, cache-resident. One plain-C kernel serves every level.
func registerSelection() {
    let distancesPerCall = 40_000
    let candidates = 2_000
    let maximumDistance = UInt16(Workload.dimensions)
    let histogram = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: Int(maximumDistance) + 1)
    let selected = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: candidates)

    Benchmark(
        "Select smallest 2,000 of 40,000 u16 distances", configuration: configuration(scalingFactor: .mega),
        closure: { benchmark in
            for _ in 0..<benchmark.scaledIterations.count / distancesPerCall {
                blackHole(
                    qk_select_smallest_u16(
                        Workload.distances.baseAddress, distancesPerCall, candidates, maximumDistance,
                        histogram.baseAddress, selected.baseAddress))
            }
        },
        setup: {
            let codes = Workload.randomBytes(count: distancesPerCall * Workload.codeBytes, seed: 6)
            qk_hamming_batch(
                Workload.queryCode.baseAddress, codes.baseAddress, Workload.codeBytes, distancesPerCall,
                Workload.distances.baseAddress)
            codes.deallocate()
        })
}
