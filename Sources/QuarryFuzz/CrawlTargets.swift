import Foundation
import Quarry

extension FuzzTarget {
    /// Records read per input at most (a mutated file can hold many small ones).
    private static let recordLimit = 10_000
    /// The crawl readers' record limit in these targets, small so mutations reach it.
    static let fuzzRecordBytes = 1 << 16

    /// JSON lines, WET, and gzip and zstd streams of either, through `CrawlRecordReader`.
    static let crawlTargets: [FuzzTarget] = [
        FuzzTarget("crawl-jsonl", "JSON-lines crawl records", isJSON: true) { data, scratch in
            try readRecords(data, scratch)
        },
        FuzzTarget("crawl-wet", "Common Crawl WET records (WARC headers, Content-Length)") { data, scratch in
            try readRecords(data, scratch)
        },
        FuzzTarget("crawl-gzip", "gzip-compressed crawl files (inflate, concatenated members)") { data, scratch in
            try readRecords(data, scratch)
        },
        FuzzTarget("crawl-zstd", "zstd-compressed crawl files (streaming decompression)") { data, scratch in
            try readRecords(data, scratch)
        },
    ]

    private static func readRecords(_ data: Data, _ scratch: FuzzScratch) throws {
        let file = try scratch.write(data, to: "crawl")
        let reader = try CrawlRecordReader(path: file.path, maxRecordBytes: fuzzRecordBytes)
        var count = 0
        while count < recordLimit, let record = try reader.next() {
            if record.key.isEmpty { throw FuzzFinding("a record with an empty key") }
            count += 1
        }
    }
}
