// Tokenizer throughput of QuarryEmbed: loads the tokenizer of a model directory (as `quarry embed`
// does) and encodes every text of a file, one text at a time on one thread, in several passes:
// the first on a fresh tokenizer (the byte-level BPE's pre-token cache empty), the rest with
// whatever the tokenizer kept from earlier passes. Prints one line per measurement:
//
//     load <seconds>
//     pass <n> <tokens> tokens <bytes> bytes <seconds> s
//
// Benchmarks/tokenizer/compare_tiktoken.py runs it against tiktoken and Hugging Face tokenizers.
//
// Usage: swift build -c release --product TokenizerBenchmark
//        .build/release/TokenizerBenchmark <model directory> <texts: .jsonl with "text", or lines> [passes]

import Foundation
import QuarryEmbed

/// Seconds `body` takes on the monotonic clock.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The texts of `path`: the "text" field of each JSONL object, or each line of a text file.
func readTexts(_ path: String) throws -> [String] {
    let contents = try String(contentsOfFile: path, encoding: .utf8)
    let lines = contents.split(separator: "\n").map(String.init)
    guard path.hasSuffix(".jsonl") else { return lines }
    return try lines.map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        guard let text = object?["text"] as? String else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
        }
        return text
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4, let passes = Int(arguments.count == 4 ? arguments[3] : "3"),
    passes > 0
else {
    FileHandle.standardError.write(Data("usage: TokenizerBenchmark <model directory> <texts file> [passes]\n".utf8))
    exit(2)
}
let texts = try readTexts(arguments[2])
let bytes = texts.reduce(0) { $0 + $1.utf8.count }
var loaded: (any Tokenizer)?
print(
    String(
        format: "load %.4f",
        try seconds { loaded = try loadTokenizer(modelDirectory: URL(fileURLWithPath: arguments[1])) }))
let tokenizer = loaded!
for pass in 1...passes {
    var tokens = 0
    let elapsed = seconds {
        for text in texts { tokens += tokenizer.encode(text).count }
    }
    print(String(format: "pass %d %d tokens %d bytes %.4f s", pass, tokens, bytes, elapsed))
}
