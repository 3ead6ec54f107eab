import Foundation

/// What a run of a target did.
public struct FuzzReport: Sendable, CustomStringConvertible {
    public var target: String
    public var executions = 0
    /// Inputs the parser accepted (no error thrown).
    public var accepted = 0
    /// Distinct outcomes seen: acceptance, or an error message with its numbers taken out.
    public var outcomes = 0
    public var seconds = 0.0
    /// Properties a target checks that failed (see `FuzzFinding`), the first ten described.
    public var findings: [String] = []
    public var findingCount = 0
    public var seedCount = 0
    /// Seeds the parser accepted unmutated.
    public var acceptedSeeds = 0

    public var executionsPerSecond: Double { seconds > 0 ? Double(executions) / seconds : 0 }

    public var description: String {
        "target=\(target) executions=\(executions) seconds=\(String(format: "%.1f", seconds)) "
            + "exec/s=\(Int(executionsPerSecond)) accepted=\(accepted) outcomes=\(outcomes) "
            + "seeds=\(seedCount) accepted_seeds=\(acceptedSeeds) findings=\(findingCount) crashes=0"
    }
}

/// Runs a target on its seed corpus and then on mutations of a growing pool of inputs,
/// deterministically for a given seed. The pool keeps every input with an outcome not seen
/// before (a cheap stand-in for coverage feedback), so mutations build on inputs that got
/// further into the parser.
public struct FuzzRunner {
    public let target: FuzzTarget
    public let seed: UInt64
    public let crashDirectory: URL
    public var hangSeconds = 20.0
    /// Called about every `progressInterval` seconds with the report so far.
    public var progress: ((FuzzReport) -> Void)?
    public var progressInterval = 10.0

    private static let poolLimit = 2048
    /// Distinct outcomes remembered; past this many, no input joins the pool.
    private static let outcomeLimit = 65_536

    public init(target: FuzzTarget, seed: UInt64, crashDirectory: URL) {
        self.target = target
        self.seed = seed
        self.crashDirectory = crashDirectory
    }

    /// The files of `directory`, sorted by name (the seed corpus of a target).
    public static func corpus(in directory: URL) throws -> [[UInt8]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.filter { !$0.hasPrefix(".") }.map {
            [UInt8](try Data(contentsOf: directory.appendingPathComponent($0)))
        }
    }

    /// Runs the seeds, then mutations until `executions` inputs have run in all.
    public func run(seeds: [[UInt8]], executions: Int) throws -> FuzzReport {
        try FileManager.default.createDirectory(at: crashDirectory, withIntermediateDirectories: true)
        let crashFile = crashDirectory.appendingPathComponent("crash-\(target.name)-seed\(seed)").path
        CrashCapture.install(crashFile: crashFile, capacity: target.maxLength + 1024, hangSeconds: hangSeconds)
        let scratch = try FuzzScratch()
        var report = FuzzReport(target: target.name)
        report.seedCount = seeds.count
        var outcomes: Set<String> = []
        var pool = seeds.isEmpty ? [[UInt8]()] : seeds
        var mutator = Mutator(seed: seed, maxLength: target.maxLength, isJSON: target.isJSON, seeds: seeds)
        let start = Date()
        var lastProgress = start
        for index in 0..<executions {
            let input: [UInt8]
            if index < seeds.count {
                input = seeds[index]
            } else {
                let base = pool[Int(mutator.random.next() % UInt64(pool.count))]
                let other = pool[Int(mutator.random.next() % UInt64(pool.count))]
                input = mutator.mutate(base, other: other)
            }
            let outcome = execute(input, scratch: scratch)
            report.executions += 1
            if let outcome, outcome.hasPrefix(FuzzFinding.prefix) {
                report.findingCount += 1
                if report.findings.count < 10 {
                    report.findings.append(outcome)
                    let file = crashDirectory.appendingPathComponent("finding-\(target.name)-seed\(seed)-\(index)")
                    try Data(input).write(to: file)
                }
            }
            if outcome == nil {
                report.accepted += 1
                if index < seeds.count { report.acceptedSeeds += 1 }
            }
            let key = outcome ?? "accepted"
            let isNew = outcomes.count < Self.outcomeLimit ? outcomes.insert(key).inserted : false
            if isNew && index >= seeds.count {
                if pool.count < Self.poolLimit {
                    pool.append(input)
                } else {
                    pool[Int(mutator.random.next() % UInt64(pool.count))] = input
                }
            }
            if let progress, index % 256 == 0, Date().timeIntervalSince(lastProgress) >= progressInterval {
                lastProgress = Date()
                report.seconds = lastProgress.timeIntervalSince(start)
                report.outcomes = outcomes.count
                progress(report)
            }
        }
        report.seconds = Date().timeIntervalSince(start)
        report.outcomes = outcomes.count
        return report
    }

    /// Runs one input: nil when the parser accepted it, else its error with digits removed.
    public func execute(_ input: [UInt8], scratch: FuzzScratch) -> String? {
        input.withUnsafeBytes { CrashCapture.begin($0) }
        defer { CrashCapture.end() }
        do {
            try target.run(Data(input), scratch)
            return nil
        } catch {
            // Describing the error runs its message code too.
            return String(String(describing: error).unicodeScalars.filter { !("0"..."9").contains($0) }.prefix(160))
        }
    }
}
