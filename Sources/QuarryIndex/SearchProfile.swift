import Foundation

/// Where searches spend their time, phase by phase, summed over every search it was handed to,
/// with the work each phase did (lists, codes, records) so that its physical rate can be put
/// beside it. Reading the clock costs tens of nanoseconds a phase, so a profiled search runs
/// at almost the speed of one that is not.
public final class SearchProfile {
    /// The parts of a search, in the order it runs them.
    public enum Phase: Int, CaseIterable, Sendable {
        /// Evaluating the filter into a set of matching ids.
        case filter
        /// Ranking the centroids to choose the probed lists.
        case centroids
        /// Finding the probed lists' blocks (LMDB look-ups, once per snapshot).
        case lists
        /// Scoring every probed code by the prefilter.
        case scan
        /// Choosing the candidates nearest by the prefilter.
        case selection
        /// Finding the selected candidates' INT8 records.
        case locate
        /// The INT8 dot products of the records.
        case rescore
        /// Cosines from the dot products, and the best `k` of them.
        case rank
        /// Looking up the results' keys.
        case keys

        /// The phase's name in reports.
        public var name: String { String(describing: self) }
    }

    /// Nanoseconds spent in each phase, by `Phase.rawValue`.
    public private(set) var nanoseconds = [UInt64](repeating: 0, count: Phase.allCases.count)
    /// Searches profiled.
    public var searches = 0
    /// Lists probed, codes scored by the prefilter and records rescored, over all searches.
    public var listsProbed = 0
    public var codesScanned = 0
    public var recordsRescored = 0
    /// The bytes those codes and records occupy.
    public var codeBytesScanned = 0
    public var recordBytesRescored = 0

    public init() {}

    /// Runs `body`, adding its time to `phase`.
    @inline(__always)
    public func measure<Result>(_ phase: Phase, _ body: () throws -> Result) rethrows -> Result {
        let start = Self.now()
        defer { nanoseconds[phase.rawValue] &+= Self.now() &- start }
        return try body()
    }

    /// Milliseconds per search spent in `phase`.
    public func millisecondsPerSearch(_ phase: Phase) -> Double {
        searches == 0 ? 0 : Double(nanoseconds[phase.rawValue]) / 1e6 / Double(searches)
    }

    /// Seconds spent in `phase` over all searches.
    public func seconds(_ phase: Phase) -> Double { Double(nanoseconds[phase.rawValue]) / 1e9 }

    /// Adds `nanoseconds` to `phase`.
    @inline(__always) func add(_ nanoseconds: UInt64, to phase: Phase) {
        self.nanoseconds[phase.rawValue] &+= nanoseconds
    }

    @inline(__always) static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}

/// A clock that charges the time since its previous lap to a phase of a profile (and does
/// nothing without one): for a function that runs several phases one after another.
public struct PhaseLaps {
    private let profile: SearchProfile?
    private var last: UInt64

    public init(_ profile: SearchProfile?) {
        self.profile = profile
        last = profile == nil ? 0 : SearchProfile.now()
    }

    /// Charges the time since the previous lap (or the start) to `phase`.
    @inline(__always) public mutating func lap(_ phase: SearchProfile.Phase) {
        guard let profile else { return }
        let now = SearchProfile.now()
        profile.add(now &- last, to: phase)
        last = now
    }
}

extension Optional where Wrapped == SearchProfile {
    /// Runs `body`, timed as `phase` when there is a profile.
    @inline(__always)
    public func measure<Result>(_ phase: SearchProfile.Phase, _ body: () throws -> Result) rethrows -> Result {
        guard let profile = self else { return try body() }
        return try profile.measure(phase, body)
    }
}
