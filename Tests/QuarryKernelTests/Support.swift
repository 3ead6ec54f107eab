import CQuarryKernels

/// SplitMix64: a small deterministic generator so that failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Every kernel level this CPU can run, portable first.
let supportedLevels: [Int32] = Array(0...qk_detected_level())

/// Runs `body` with the kernels dispatching at `level`, then restores the previous level.
func atLevel<T>(_ level: Int32, _ body: () throws -> T) rethrows -> T {
    let previous = qk_active_level()
    precondition(qk_set_level(level) == level, "level \(level) not supported")
    defer { qk_set_level(previous) }
    return try body()
}

/// A byte buffer deliberately placed one byte past a 64-byte boundary, so that kernels are
/// exercised on unaligned pointers.
final class UnalignedBuffer {
    let count: Int
    private let raw: UnsafeMutableRawPointer
    let bytes: UnsafeMutablePointer<UInt8>

    init(_ values: [UInt8]) {
        count = values.count
        raw = UnsafeMutableRawPointer.allocate(byteCount: values.count + 72, alignment: 64)
        bytes = (raw + 1).bindMemory(to: UInt8.self, capacity: values.count + 8)
        bytes.initialize(from: values, count: values.count)
    }

    /// `count` random bytes, drawn eight at a time (fast even in debug builds).
    init(random count: Int, using rng: inout SplitMix64) {
        self.count = count
        raw = UnsafeMutableRawPointer.allocate(byteCount: count + 72, alignment: 64)
        bytes = (raw + 1).bindMemory(to: UInt8.self, capacity: count + 8)
        for offset in stride(from: 0, to: count, by: 8) {
            UnsafeMutableRawPointer(bytes).storeBytes(of: rng.next(), toByteOffset: offset, as: UInt64.self)
        }
    }

    convenience init(_ values: [Int8]) {
        self.init(values.map { UInt8(bitPattern: $0) })
    }

    var signed: UnsafeMutablePointer<Int8> {
        UnsafeMutableRawPointer(bytes).assumingMemoryBound(to: Int8.self)
    }

    deinit { raw.deallocate() }
}

func randomBytes(_ count: Int, using rng: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
}

func randomInt8s(_ count: Int, using rng: inout SplitMix64) -> [Int8] {
    (0..<count).map { _ in Int8.random(in: -128...127, using: &rng) }
}

/// Popcount of `a & b` (or `a ^ b` when `xor`) over `bytes` bytes, one 64-bit word at a time.
func popcount(
    _ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, bytes: Int, xor: Bool
) -> Int {
    let ra = UnsafeRawPointer(a)
    let rb = UnsafeRawPointer(b)
    var total = 0
    for w in stride(from: 0, to: bytes, by: 8) {
        let x = ra.loadUnaligned(fromByteOffset: w, as: UInt64.self)
        let y = rb.loadUnaligned(fromByteOffset: w, as: UInt64.self)
        total += (xor ? x ^ y : x & y).nonzeroBitCount
    }
    return total
}

/// Scalar INT8 dot product, the reference for the SIMD kernels.
func referenceDot(_ a: UnsafePointer<Int8>, _ b: UnsafePointer<Int8>, dims: Int) -> Int32 {
    var sum: Int32 = 0
    for i in 0..<dims { sum &+= Int32(a[i]) * Int32(b[i]) }
    return sum
}
