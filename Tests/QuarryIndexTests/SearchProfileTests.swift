import Foundation
import QuarryIndex
import QuarrySchema
import Testing

@Suite struct SearchProfileTests {
    let fixture = SmallIndex()

    @Test func profiledSearchesReturnTheSameHitsAndCountTheirWork() throws {
        let profiled = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        let plain = IVFSearcher(centroids: fixture.index.centroids, dimension: fixture.dimension)
        let profile = SearchProfile()
        profiled.profile = profile
        let parameters = SearchParameters(k: 10, nprobe: 4, oversample: 3)
        var lists = 0
        var codes = 0
        var records = 0
        for q in 0..<6 {
            let query = PreparedQuery(int8: fixture.query(q))
            let found = try profiled.search(query, parameters: parameters, in: fixture.index)
            #expect(found == (try plain.search(query, parameters: parameters, in: fixture.index)))
            let probed = plain.nearestLists(to: query, count: parameters.nprobe)
            let scanned = try probed.reduce(0) { $0 + (try fixture.index.listSize($1)) }
            lists += probed.count
            codes += scanned
            records += min(parameters.candidateCount, scanned)
        }
        #expect(profile.searches == 6)
        #expect(profile.listsProbed == lists)
        #expect(profile.codesScanned == codes)
        #expect(profile.codeBytesScanned == codes * IVFLayout.codeBytes(dimension: fixture.dimension))
        #expect(profile.recordsRescored == records)
        #expect(profile.recordBytesRescored == records * IVFLayout.vectorRecordBytes(dimension: fixture.dimension))
        for phase in [SearchProfile.Phase.centroids, .lists, .scan, .selection, .locate, .rescore, .rank] {
            #expect(profile.seconds(phase) > 0, "no time in \(phase.name)")
        }
        #expect(profile.seconds(.keys) == 0 && profile.seconds(.filter) == 0)
    }

    @Test func phaseLapsChargeTheTimeBetweenLapsInOrder() {
        let profile = SearchProfile()
        var laps = PhaseLaps(profile)
        Thread.sleep(forTimeInterval: 0.02)
        laps.lap(.scan)
        laps.lap(.rank)
        // The sleep is charged to the scan; the rank lap right after it takes far less.
        #expect(profile.seconds(.scan) >= 0.02)
        #expect(profile.seconds(.rank) < profile.seconds(.scan))
        #expect(profile.millisecondsPerSearch(.scan) == 0, "no search was counted")
        profile.searches = 2
        #expect(abs(profile.millisecondsPerSearch(.scan) - profile.seconds(.scan) * 500) < 1e-9)
    }
}
