import ArgumentParser
import Foundation
import Quarry

/// What `quarry check` found.
struct CheckReport: Codable {
    var integrity: IntegrityReport
    /// With --vectors: rows of the file whose key is stored.
    var rowsPresent: Int?
    /// Rows stored with a vector other than the file's.
    var rowsMismatched: Int?
    /// The rows 0..<n all stored with the file's vector.
    var completePrefix: Int?
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check that a collection is internally consistent, and optionally that it holds a file's vectors.",
        discussion:
            "Exits 1 when an inconsistency is found or a stored vector differs from the file's (the crash harnesses use it)."
    )

    @Argument(help: "The collection directory.") var directory: String
    @Option(help: "Vectors the collection should hold (as ingested: same file, same keys).") var vectors: String?
    @Option(help: "The keys file the vectors were ingested with (default: the row numbers).") var keys: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let collection = try QuarryCollection.open(at: directory)
            var report = CheckReport(integrity: try collection.checkIntegrity())
            if let vectors {
                let file = try VectorFile(path: vectors)
                let keyList = try keys.map(readLines)
                let prepared = try QuerySet(path: vectors, collection: collection).prepared
                var present = 0
                var mismatched = 0
                var prefix: Int?
                for row in 0..<file.count {
                    let key = keyList.map { row < $0.count ? $0[row] : "" } ?? String(row)
                    guard let stored = try collection.storedVector(key: key) else {
                        if prefix == nil { prefix = row }
                        continue
                    }
                    present += 1
                    if stored != prepared[row].values {
                        mismatched += 1
                        if prefix == nil { prefix = row }
                    }
                }
                report.rowsPresent = present
                report.rowsMismatched = mismatched
                report.completePrefix = prefix ?? file.count
            }
            if json {
                print(jsonLine(report))
            } else {
                let integrity = report.integrity
                print(
                    "\(integrity.vectors) vectors, \(integrity.documents) documents, \(integrity.listEntries) list entries: "
                        + (integrity.isConsistent ? "consistent" : "\(integrity.problemCount) problems"))
                for problem in integrity.problems { print("  \(problem)") }
                if let present = report.rowsPresent {
                    print(
                        "\(present) rows of \(vectors!) stored, \(report.rowsMismatched ?? 0) with another vector; rows 0..<\(report.completePrefix ?? 0) complete"
                    )
                }
            }
            if !report.integrity.isConsistent || (report.rowsMismatched ?? 0) > 0 { throw ExitCode(1) }
        }
    }
}
