import Foundation

// libFuzzer's entry point over the vector-file targets (the same target code the mutation
// harness runs): the first byte picks the target, the rest is its input.
// Built by scripts/libfuzzer.sh with `swiftc -sanitize=fuzzer`.

nonisolated(unsafe) private var scratch: FuzzScratch?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    if scratch == nil { scratch = try? FuzzScratch() }
    guard let scratch else { return 0 }
    let targets = FuzzTarget.vectorFileTargets
    let target = targets[Int(start[0]) % targets.count]
    try? target.run(Data(bytes: start + 1, count: count - 1), scratch)
    return 0
}
