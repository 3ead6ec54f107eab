import ArgumentParser
import Foundation
import Quarry

/// `quarry embed`: texts in, one `.npy` matrix of embeddings out.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with a local model directory and write the vectors as .npy.",
        discussion: """
            Input: one text per line, or JSONL (a .jsonl file, or a first line starting with "{") \
            with {"text": ...} or {"ids": [token ids without special tokens]} per line; with \
            --contextual, JSONL with {"chunks": [...]} per line (late chunking: one row per chunk, \
            in document then chunk order). Formats: float (float32 [n, d]), int8 (tanh-INT8 \
            [n, d]), binary (int8 ±1 [n, d]), ubinary (uint8 [n, d/8], bits packed most \
            significant first as numpy.packbits). Progress and tokens/s go to stderr.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case float, int8, binary, ubinary
    }

    @Option(help: "Model directory (Hugging Face layout: config.json, safetensors, tokenizer).") var model: String
    @Option(help: "Input file: text lines or JSONL.") var input: String
    @Flag(help: "Late chunking: each JSONL line holds {\"chunks\": [...]} of one document.") var contextual = false
    @Option(help: "Output format: float, int8, binary or ubinary.") var format: Format = .float
    @Option(help: "Matryoshka dimensions: keep the first N components.") var dims: Int?
    @Option(help: "Longest sequence in tokens (default: the model's).") var maxTokens: Int?
    @Option(help: "Output .npy file.") var output: String
    @OptionGroup var encoder: LocalEncoderOptions

    /// What one input line holds.
    private enum Item {
        case text(String)
        case tokenIDs([Int32])
        case chunks([String])

        var rowCount: Int {
            if case .chunks(let chunks) = self { chunks.count } else { 1 }
        }
    }

    func run() throws {
        let embedder = try Embedder(
            modelDirectory: URL(fileURLWithPath: model), maxTokens: maxTokens, weights: encoder.weights)
        let dimension = dims ?? embedder.dimension
        guard dimension > 0, dimension <= embedder.dimension else {
            throw ValidationError("--dims must be in 1...\(embedder.dimension)")
        }
        let items = try readInput()
        let rows = items.reduce(0) { $0 + $1.rowCount }
        let columns = format == .ubinary ? (dimension + 7) / 8 : dimension
        let elementType: NPYElementType =
            switch format {
            case .float: .float32
            case .int8, .binary: .int8
            case .ubinary: .uint8
            }
        let writer = try NPYWriter(path: output, type: elementType, rows: rows, columns: columns)
        let meter = ProgressMeter(unit: contextual ? "documents" : "inputs", total: items.count)
        // Blocks bound memory on large inputs; inside a block the embedder sorts by length.
        let blockSize = 4096
        for blockStart in stride(from: 0, to: items.count, by: blockSize) {
            let block = items[blockStart..<min(blockStart + blockSize, items.count)]
            let vectors = try embed(block, with: embedder) {
                meter.update(blockStart: blockStart, blockSize: block.count, progress: $0)
            }
            for vector in vectors {
                let truncated = Pooling.truncated(vector, dimensions: dimension, renormalize: embedder.normalizes)
                switch format {
                case .float: try writer.append(truncated)
                case .int8: try writer.append(EmbeddingQuantization.int8Tanh(truncated))
                case .binary: try writer.append(EmbeddingQuantization.binary(truncated))
                case .ubinary: try writer.append(EmbeddingQuantization.packedBitsMSBFirst(truncated))
                }
            }
        }
        try writer.finish()
        meter.finish(rows: rows, output: output)
    }

    /// One vector per text or id list, or per chunk (in document order) for contextual input.
    private func embed(
        _ items: ArraySlice<Item>, with embedder: Embedder, progress: @escaping (EmbeddingProgress) -> Void
    ) throws -> [[Float]] {
        if contextual {
            let documents = items.map { item -> [String] in if case .chunks(let chunks) = item { chunks } else { [] } }
            return try embedder.embedContextual(documents, progress: progress).flatMap { $0 }
        }
        let sequences = items.map { item -> [Int32] in
            switch item {
            case .text(let text): embedder.tokenizer.encode(text)
            case .tokenIDs(let ids): ids
            case .chunks: []
            }
        }
        return try embedder.embedTokens(sequences, progress: progress)
    }

    /// Input lines: plain text lines, or JSONL objects when the file ends in .jsonl or its first
    /// line starts with `{`.
    private func readInput() throws -> [Item] {
        guard let data = FileManager.default.contents(atPath: input) else {
            throw ValidationError("cannot read \(input)")
        }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        let isJSONLines = input.hasSuffix(".jsonl") || lines.first?.hasPrefix("{") == true
        guard isJSONLines else {
            guard !contextual else { throw ValidationError("--contextual needs JSONL input with {\"chunks\": [...]}") }
            return lines.map { .text(String($0)) }
        }
        return try lines.enumerated().compactMap { number, line in
            if line.allSatisfy(\.isWhitespace) { return nil }
            let location = "\(input):\(number + 1)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ValidationError("\(location): not a JSON object")
            }
            if contextual {
                guard let chunks = object["chunks"] as? [String] else {
                    throw ValidationError("\(location): expected {\"chunks\": [strings]}")
                }
                return .chunks(chunks)
            }
            if let text = object["text"] as? String { return .text(text) }
            if let ids = object["ids"] as? [Int] { return .tokenIDs(ids.map { Int32(exactly: $0) ?? -1 }) }
            throw ValidationError("\(location): expected {\"text\": string} or {\"ids\": [integers]}")
        }
    }
}

/// Progress and throughput on stderr, at most about once a second.
private final class ProgressMeter {
    private let unit: String
    private let total: Int
    private let start = Date()
    private var lastReport = Date.distantPast
    private var tokens = 0
    private var tokensBeforeBlock = 0
    private var currentBlock = -1

    init(unit: String, total: Int) {
        self.unit = unit
        self.total = total
    }

    /// Records progress within the block of `blockSize` inputs starting at input `blockStart`.
    func update(blockStart: Int, blockSize: Int, progress: EmbeddingProgress) {
        if blockStart != currentBlock {
            currentBlock = blockStart
            tokensBeforeBlock = tokens
        }
        tokens = tokensBeforeBlock + progress.tokensDone
        guard Date().timeIntervalSince(lastReport) >= 1 else { return }
        lastReport = Date()
        let fraction = Double(progress.sequencesDone) / Double(max(progress.sequenceCount, 1))
        let done = blockStart + Int(fraction * Double(blockSize))
        report("\(done)/\(total) \(unit), \(tokens) tokens, \(rate) tokens/s")
    }

    func finish(rows: Int, output: String) {
        report(
            "\(total) \(unit) → \(rows) rows in \(output); \(tokens) tokens in \(String(format: "%.1f", elapsed)) s, \(rate) tokens/s"
        )
    }

    private var elapsed: Double { Date().timeIntervalSince(start) }
    private var rate: Int { Int(Double(tokens) / max(elapsed, 1e-9)) }

    private func report(_ line: String) {
        FileHandle.standardError.write(Data("embed: \(line)\n".utf8))
    }
}
