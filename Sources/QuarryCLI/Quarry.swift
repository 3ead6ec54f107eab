import ArgumentParser
import Foundation

@main
struct QuarryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarry",
        abstract: "Quarry: a vector index and search engine.",
        subcommands: [
            CreateCommand.self, IngestCommand.self, SearchCommand.self, EvalCommand.self, StatsCommand.self,
            NeighborsCommand.self, DeleteCommand.self, CompactCommand.self, TuneCommand.self, BenchCommand.self,
            EmbedCommand.self, ServeCommand.self, CheckCommand.self, IndexFieldsCommand.self,
        ])

    /// Runs the command. A write past a file-size limit then fails with EFBIG, which becomes a
    /// clear error, instead of SIGXFSZ killing the process.
    static func main() async {
        signal(SIGXFSZ, SIG_IGN)
        await main(nil)
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Writes a line to standard output at once (unbuffered), for progress that streams.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Encodes a value as one line of compact JSON with sorted keys.
func jsonLine(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}

/// Runs `body`, turning thrown errors into a clean message and exit status 1.
func reportingErrors<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}
