import Foundation
import QuarryFuzz

#if canImport(Glibc)
    import Glibc
#endif

/// quarry-fuzz: runs one fuzz target for a number of executions.
///
///     QuarryFuzzRunner TARGET EXECUTIONS [--seed N] [--corpus DIR] [--crashes DIR] [--memory-mb N]
///     QuarryFuzzRunner TARGET --reproduce FILE
///     QuarryFuzzRunner --list
let usage = """
    usage: QuarryFuzzRunner TARGET EXECUTIONS [--seed N] [--corpus DIR] [--crashes DIR] [--memory-mb N]
           QuarryFuzzRunner TARGET --reproduce FILE
           QuarryFuzzRunner --list
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--list" {
    for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
    exit(0)
}
guard arguments.count >= 2, let target = FuzzTarget.named(arguments[0]) else {
    fail(usage + "\ntargets: " + FuzzTarget.all.map(\.name).joined(separator: ", "))
}
if arguments[1] == "--reproduce" {
    guard arguments.count == 3 else { fail(usage) }
    let input = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: arguments[2]))) ?? Data())
    let runner = FuzzRunner(target: target, seed: 0, crashDirectory: FileManager.default.temporaryDirectory)
    print(runner.execute(input, scratch: try FuzzScratch()) ?? "accepted")
    exit(0)
}
var options: [String: String] = [:]
var index = 2
while index < arguments.count {
    guard arguments[index].hasPrefix("--"), index + 1 < arguments.count else { fail(usage) }
    options[String(arguments[index].dropFirst(2))] = arguments[index + 1]
    index += 2
}
let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
let corpus = URL(fileURLWithPath: options["corpus"] ?? "Benchmarks/fuzz/corpus/\(target.name)", relativeTo: root)
let crashes = URL(fileURLWithPath: options["crashes"] ?? "Benchmarks/fuzz/crashes", relativeTo: root)
let seed = UInt64(options["seed"] ?? "1") ?? 1
var runner = FuzzRunner(target: target, seed: seed, crashDirectory: crashes)

#if canImport(Glibc)
    // An input that makes a parser allocate without bound fails an allocation (a crash with
    // the input saved) instead of exhausting the machine.
    var limit = rlimit()
    let megabytes = rlim_t(options["memory-mb"] ?? "4096") ?? 4096
    limit.rlim_cur = megabytes << 20
    limit.rlim_max = megabytes << 20
    setrlimit(Int32(RLIMIT_AS.rawValue), &limit)
#endif

guard let executions = Int(arguments[1]), executions > 0 else { fail(usage) }
let seeds = try FuzzRunner.corpus(in: corpus)
runner.progress = { report in
    FileHandle.standardError.write(Data("  \(report)\n".utf8))
}
let report = try runner.run(seeds: seeds, executions: executions)
print(report)
for finding in report.findings { print("  \(finding)") }
exit(report.findingCount == 0 ? 0 : 1)
