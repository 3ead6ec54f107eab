import Foundation
import Quarry

/// `quarry eval --profile`'s account of a setting: milliseconds per query in each phase of the
/// search, the work each phase did per query, and the physical rates of the scan and rescore.
struct SearchProfileReport: Codable {
    /// Milliseconds per query, by phase name, phases that took no time left out.
    var phases_ms: [String: Double]
    /// The phases' sum against the measured latency: what the phases do not account for.
    var total_ms: Double
    var lists_per_query: Double
    var codes_per_query: Double
    var records_per_query: Double
    /// Millions of codes the prefilter scored per second of the scan phase, and the code bytes
    /// it read per second (GB/s).
    var scan_mcodes_per_s: Double?
    var scan_gb_per_s: Double?
    /// Millions of INT8 records rescored per second of the rescore phase, and GB/s.
    var rescore_mrecords_per_s: Double?
    var rescore_gb_per_s: Double?

    init(_ profile: SearchProfile) {
        let searches = Double(max(profile.searches, 1))
        var phases: [String: Double] = [:]
        for phase in SearchProfile.Phase.allCases where profile.seconds(phase) > 0 {
            phases[phase.name] = profile.millisecondsPerSearch(phase)
        }
        phases_ms = phases
        total_ms = phases.values.reduce(0, +)
        lists_per_query = Double(profile.listsProbed) / searches
        codes_per_query = Double(profile.codesScanned) / searches
        records_per_query = Double(profile.recordsRescored) / searches
        let scan = profile.seconds(.scan)
        if scan > 0 {
            scan_mcodes_per_s = Double(profile.codesScanned) / scan / 1e6
            scan_gb_per_s = Double(profile.codeBytesScanned) / scan / 1e9
        }
        let rescore = profile.seconds(.rescore)
        if rescore > 0 {
            rescore_mrecords_per_s = Double(profile.recordsRescored) / rescore / 1e6
            rescore_gb_per_s = Double(profile.recordBytesRescored) / rescore / 1e9
        }
    }
}
