import Foundation
import Quarry
import QuarryEmbed
import QuarryIndex
import QuarryStore
import QuarryTestSupport
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let miniLMPath = repositoryRoot.appendingPathComponent("data/models/all-MiniLM-L6-v2").path

/// The default model, loaded once (the tests fail, with the reason, when it is missing).
let sharedEmbedder: Result<Embedder, any Error> = Result {
    guard FileManager.default.fileExists(atPath: miniLMPath + "/config.json") else {
        throw QuarryError.invalidArgument("\(miniLMPath) is missing: run scripts/setup.sh first")
    }
    return try Embedder(modelDirectory: URL(fileURLWithPath: miniLMPath))
}

/// Short documents on distinct topics, as JSON lines.
func sampleDocuments(count: Int, version: String = "") -> [String] {
    let topics = [
        "compiler", "database", "garden", "violin", "volcano", "bicycle", "astronomy", "bread", "chess", "glacier",
        "printer", "orchestra", "tennis", "lighthouse", "honey", "satellite",
    ]
    return (0..<count).map { index in
        let topic = topics[index % topics.count]
        let text =
            "Document \(index) is about the \(topic). It explains how a \(topic) works, why people care about the \(topic), and what to read next about \(topic)s. \(version)"
        let record: [String: Any] = [
            "id": "doc-\(index)", "text": text, "title": "All about \(topic) \(index)",
            "url": "https://example.org/\(index)", "metadata": ["topic": topic, "rank": index],
        ]
        return String(
            decoding: try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
    }
}

func writeLines(_ lines: [String], to path: String) throws {
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
}

@Suite struct DocumentTests {
    let temporary = TemporaryDirectory()
    var directory: String { temporary.path }

    func ingest(_ lines: [String], into name: String, batchSize: Int = 16) throws -> (
        QuarryCollection, DocumentIngestReport
    ) {
        let embedder = try sharedEmbedder.get()
        let path = directory + "/docs-\(UUID().uuidString).jsonl"
        try writeLines(lines, to: path)
        let collectionPath = directory + "/" + name
        let collection =
            FileManager.default.fileExists(atPath: collectionPath)
            ? try QuarryCollection.open(at: collectionPath)
            : try QuarryCollection.create(at: collectionPath, dimension: embedder.dimension, listCount: 4)
        var options = DocumentIngestOptions()
        options.batchSize = batchSize
        options.trainingBatchSize = batchSize
        let report = try collection.ingestDocuments(
            from: CrawlRecordReader(path: path), embedder: embedder, modelPath: miniLMPath, options: options)
        return (collection, report)
    }

    @Test func textQueriesFindTheirDocument() throws {
        let (collection, report) = try ingest(sampleDocuments(count: 32), into: "c")
        #expect(report.documents == 32 && report.added == 32 && report.chunks == 32)
        #expect(try collection.documentCount() == 32 && collection.vectorCount() == 32)
        #expect(collection.manifest.model == miniLMPath)
        let embedder = try sharedEmbedder.get()
        let query = try collection.prepare(text: "how does a volcano work", embedder: embedder)
        let hits = try collection.searchDocuments(query, k: 3, nprobe: 4, oversample: 10, byDocument: true)
        #expect(hits.first.map { $0.title?.contains("volcano") == true } == true)
        let stored = try #require(try collection.document(key: hits[0].key))
        #expect(hits[0].url == stored.url && hits[0].snippet == stored.chunkText(0))
        #expect(
            stored.metadata
                == .object(["topic": .string("volcano"), "rank": .number(Double(stored.key.dropFirst(4))!)]))
    }

    @Test func theFirstBatchOfANewCollectionTrainsItsIndex() throws {
        let embedder = try sharedEmbedder.get()
        let path = directory + "/docs.jsonl"
        try writeLines(sampleDocuments(count: 40), to: path)
        let collection = try QuarryCollection.create(at: directory + "/t", dimension: embedder.dimension, listCount: 4)
        var options = DocumentIngestOptions()
        options.batchSize = 8
        options.trainingBatchSize = 30
        try collection.ingestDocuments(
            from: CrawlRecordReader(path: path), embedder: embedder, modelPath: miniLMPath, options: options)
        #expect(collection.manifest.trainingSize == 30 && collection.manifest.listCount == 4)
        #expect(try collection.documentCount() == 40)
    }

    @Test func upsertReplacesChunksAndUnchangedDocumentsAreSkipped() throws {
        let documents = sampleDocuments(count: 20)
        let (collection, _) = try ingest(documents, into: "c")
        let again = try ingest(documents, into: "c").1
        #expect(again.unchanged == 20 && again.added == 0 && again.chunks == 0)
        // doc-3 becomes much longer (several chunks), doc-4 changes its text.
        var changed = documents
        let long = (0..<300).map { "word\($0)" }.joined(separator: " ")
        changed[3] = #"{"id": "doc-3", "text": "\#(long)", "title": "long"}"#
        changed[4] = #"{"id": "doc-4", "text": "Completely different: sourdough bread and ovens."}"#
        let report = try ingest(changed, into: "c").1
        #expect(report.replaced == 2 && report.unchanged == 18)
        let chunks = try #require(try collection.document(key: "doc-3")).chunks.count
        #expect(chunks > 1)
        #expect(try collection.vectorCount() == 19 + chunks)
        // Shrinking it back removes the extra chunks.
        let restored = try ingest(documents, into: "c").1
        #expect(restored.replaced == 2)
        #expect(try collection.vectorCount() == 20 && collection.documentCount() == 20)
        let everything = try collection.searchDocuments(
            collection.storedQuery(key: "doc-3"), k: 40, nprobe: 4, oversample: 100)
        #expect(everything.count == 20 && Set(everything.map(\.key)).count == 20)
    }

    @Test func deleteRemovesEveryChunkAndCompactKeepsTheRest() throws {
        let (collection, _) = try ingest(sampleDocuments(count: 24), into: "c")
        let missing = try collection.delete(keys: ["doc-1", "doc-2", "nope"])
        #expect(missing == ["nope"])
        #expect(try collection.documentCount() == 22 && collection.vectorCount() == 22)
        #expect(try collection.document(key: "doc-1") == nil)
        let hits = try collection.searchDocuments(
            collection.storedQuery(key: "doc-17"), k: 30, nprobe: 4, oversample: 100, byDocument: true)
        #expect(hits.count == 22 && !hits.contains { $0.key == "doc-1" || $0.key == "doc-2" })
        #expect(throws: QuarryError.documentNotFound(key: "doc-1")) { try collection.storedQuery(key: "doc-1") }
    }

    @Test func neighboursOfAStoredDocumentExcludeItself() throws {
        let (collection, _) = try ingest(sampleDocuments(count: 32), into: "c")
        let hits = try collection.searchDocuments(
            collection.storedQuery(key: "doc-5"), k: 3, nprobe: 4, oversample: 20, byDocument: true,
            excluding: "doc-5")
        #expect(hits.count == 3 && !hits.contains { $0.key == "doc-5" })
        // doc-21 is the other document on doc-5's topic.
        #expect(hits.first?.key == "doc-21")
    }

    @Test func badRecordsStopTheIngestAndKeepEarlierBatches() throws {
        var lines = sampleDocuments(count: 20)
        lines.insert("{not json", at: 18)
        let error = #expect(throws: QuarryError.self) { _ = try ingest(lines, into: "c", batchSize: 8) }
        // The error names the line; the two batches before it stay committed.
        #expect(error?.description.contains("line 19: malformed JSON") == true)
        let collection = try QuarryCollection.open(at: directory + "/c")
        #expect(try collection.documentCount() == 16)
        for bad in [#"{"text": "no key"}"#, #"{"id": "x"}"#, #"{"id": 5, "text": 7}"#, "[1, 2]"] {
            #expect(throws: QuarryError.self) { _ = try ingest([bad], into: "c") }
        }
    }
}

@Suite struct CrawlRecordReaderTests {
    let temporary = TemporaryDirectory()

    func records(_ path: String) throws -> [CrawlRecord] {
        let reader = try CrawlRecordReader(path: path)
        var all: [CrawlRecord] = []
        while let record = try reader.next() { all.append(record) }
        return all
    }

    @Test func jsonLinesPlainGzipAndZstdReadAlike() async throws {
        let lines = sampleDocuments(count: 50)
        let plain = temporary.path + "/docs.jsonl"
        try writeLines(lines, to: plain)
        #expect(try await runProcess("/bin/gzip", ["-k", plain]).status == 0)
        let zstdPath = temporary.path + "/docs.jsonl.zst"
        try Data(try Zstd.compress(Array(try Data(contentsOf: URL(fileURLWithPath: plain))))).write(
            to: URL(fileURLWithPath: zstdPath))
        let expected = try records(plain)
        #expect(expected.count == 50 && expected[7].key == "doc-7" && expected[7].url == "https://example.org/7")
        #expect(try records(plain + ".gz") == expected)
        #expect(try records(zstdPath) == expected)
        // A truncated compressed file is an error, not a silent short read.
        let gz = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: temporary.path + "/cut.gz"))
        #expect(throws: InputError.self) { _ = try records(temporary.path + "/cut.gz") }
    }

    @Test func wetConversionRecordsBecomeDocuments() throws {
        func record(_ type: String, _ uri: String?, _ body: String) -> String {
            var header = "WARC/1.0\r\nWARC-Type: \(type)\r\n"
            if let uri { header += "WARC-Target-URI: \(uri)\r\n" }
            header += "WARC-Date: 2026-01-01T00:00:00Z\r\nWARC-Identified-Content-Language: eng,fra\r\n"
            return header + "Content-Length: \(body.utf8.count)\r\n\r\n" + body + "\r\n\r\n"
        }
        let body = "Première ligne\nsecond line with Content-Length: 5 inside\n"
        let wet =
            record("warcinfo", nil, "software: test\n") + record("conversion", "https://a.example/", body)
            + record("conversion", "https://b.example/x", "short")
        let path = temporary.path + "/crawl.warc.wet"
        try Data(wet.utf8).write(to: URL(fileURLWithPath: path))
        let found = try records(path)
        #expect(found.map(\.key) == ["https://a.example/", "https://b.example/x"])
        #expect(found[0].text == body && found[0].lang == "eng" && found[1].text == "short")
        #expect(found[0].metadata == .object(["warc-date": .string("2026-01-01T00:00:00Z")]))
        // A record cut short is an error naming it.
        try Data(wet.utf8.dropLast(12)).write(to: URL(fileURLWithPath: path))
        #expect(throws: QuarryError.self) { _ = try records(path) }
    }

    @Test func malformedRecordsNameTheirLine() throws {
        let path = temporary.path + "/bad.jsonl"
        for (content, message) in [
            ("{\"id\": \"a\", \"text\": \"x\"}\n\n{oops\n", "line 3: malformed JSON"),
            ("{\"text\": \"x\"}\n", "line 1: the record has no \"id\" or \"url\""),
            ("{\"id\": \"a\"}\n", "no \"text\""),
            ("{\"id\": \"a\", \"text\": 5}\n", "\"text\" must be a string"),
            ("[1]\n", "must be a JSON object"),
        ] {
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: QuarryError.self) { _ = try records(path) }
            #expect(error?.description.contains(message) == true, "\(content)")
        }
        #expect(throws: InputError.self) { _ = try CrawlRecordReader(path: temporary.path + "/absent.jsonl") }
    }

    @Test func chunksCoverTheTextInOverlappingWindows() {
        let words = (0..<100).map { "w\($0)" }
        let text = words.joined(separator: "  ")
        let chunker = Chunker(tokensPerChunk: 10, overlap: 3)
        let chunks = chunker.chunks(of: text) { _ in 1 }
        let bytes = Array(text.utf8)
        let chunkWords = chunks.map {
            String(decoding: bytes[$0], as: UTF8.self).split(separator: " ").map(String.init)
        }
        #expect(chunkWords.allSatisfy { $0.count <= 10 })
        #expect(chunkWords.first?.first == "w0" && chunkWords.last?.last == "w99")
        for (a, b) in zip(chunkWords, chunkWords.dropFirst()) {
            #expect(Array(a.suffix(3)) == Array(b.prefix(3)))
        }
        #expect(chunker.chunks(of: " \n\t ") { _ in 1 }.isEmpty)
        // One word longer than a window still makes progress.
        #expect(chunker.chunks(of: "a b c") { _ in 50 }.count == 3)
    }
}

/// Runs the real `quarry` binary: an ingest killed mid-way and run again ends where an
/// uninterrupted one does.
@Suite struct InterruptedIngestTests {
    let temporary = TemporaryDirectory()

    func quarry(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let outcome = try await runProcess(quarryBinary, arguments)
        return (outcome.status, outcome.output)
    }

    @Test func killedIngestResumesToTheSameState() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: quarryBinary), "build the quarry product first")
        let docs = temporary.path + "/docs.jsonl"
        try writeLines(sampleDocuments(count: 160), to: docs)
        let common = ["--docs", docs, "--model", miniLMPath, "--batch-size", "8", "--training-documents", "8"]

        // Kill -9 once at least three batches have committed.
        let killed = temporary.path + "/killed"
        let ingest = try ChildProcess(quarryBinary, ["ingest", killed] + common)
        let seen = await ingest.errors(containing: "ingest: 24 documents", thenSend: SIGKILL)
        #expect(seen.contains("ingest: 24 documents"), "\(seen.suffix(500))")
        #expect(await ingest.finish().signalled)
        let partial = try await quarry(["stats", killed, "--json"])
        #expect(partial.status == 0)
        let partialStats = try JSONDecoder().decode(CollectionStats.self, from: Data(partial.output.utf8))
        #expect(partialStats.documents >= 24 && partialStats.documents < 160)
        #expect(partialStats.documents % 8 == 0)  // whole batches only

        let resumed = try await quarry(["ingest", killed, "--json"] + common)
        #expect(resumed.status == 0)
        let report = try JSONDecoder().decode(DocumentIngestReport.self, from: Data(resumed.output.utf8))
        #expect(report.unchanged == partialStats.documents && report.added == 160 - partialStats.documents)

        let clean = temporary.path + "/clean"
        #expect(try await quarry(["ingest", clean] + common).status == 0)
        let statsA = try JSONDecoder().decode(
            CollectionStats.self, from: Data(try await quarry(["stats", killed, "--json"]).output.utf8))
        let statsB = try JSONDecoder().decode(
            CollectionStats.self, from: Data(try await quarry(["stats", clean, "--json"]).output.utf8))
        #expect(statsA.documents == 160 && statsA.documents == statsB.documents && statsA.vectors == statsB.vectors)
        for query in ["glacier melting", "how to play chess", "orchestra concerts"] {
            let search = ["--text", query, "-k", "10", "--by-document", "--exact", "--json"]
            #expect(try await quarry(["search", killed] + search).output == quarry(["search", clean] + search).output)
        }
    }
}

extension InterruptedIngestTests {
    /// A disk that fills mid-ingest (here: a file-size limit set with prlimit, which needs no
    /// privileges) fails the ingest with a clear error and keeps every committed vector.
    @Test func aFullDiskFailsTheIngestAndKeepsWhatWasCommitted() async throws {
        let small = try Dataset(in: temporary.path, count: 500)
        let large = try Dataset(in: temporary.path, count: 30_000, seed: 9)
        let collection = temporary.path + "/c"
        #expect(try await quarry(["create", collection, "--dims", "\(Dataset.dimension)"]).status == 0)
        #expect(try await quarry(["ingest", collection, "--vectors", small.basePath]).status == 0)
        let size = try #require(
            try FileManager.default.attributesOfItem(atPath: collection + "/data.mdb")[.size] as? Int)
        let limited = try await runProcess(
            "/usr/bin/prlimit",
            [
                "--fsize=\(size + 256 * 1024)", quarryBinary, "ingest", collection, "--vectors", large.basePath,
                "--batch-size", "2000",
            ])
        let message = limited.errors
        #expect(!limited.signalled && limited.status == 1)
        // LMDB reports the refused write as EFBIG, or as EIO when part of it went through.
        #expect(
            (message.contains("size limit") || message.contains("filled up mid-write"))
                && message.contains("last committed state is intact"), "\(message)")
        let stats = try JSONDecoder().decode(
            CollectionStats.self, from: Data(try await quarry(["stats", collection, "--json"]).output.utf8))
        #expect(stats.vectors >= 500 && stats.vectors < 30_500 && (stats.vectors - 500) % 2000 == 0)
        let search = try await quarry(["search", collection, "--vectors", small.queryPath, "-k", "3", "--json"])
        #expect(search.status == 0 && search.output.split(separator: "\n").count == 20)
    }
}
