import Foundation
import QuarryEmbed
import QuarryIndex
import Testing

@testable import Quarry

/// A fast stand-in for an embedding model: a text's vector follows its first word (a topic)
/// plus a little noise from the whole text, so that neighbourhoods exist and no encoder runs.
struct TopicEmbedder: TextEmbedding {
    let tokenizer: any Tokenizer
    let maxTokens = 512
    let dimension = 32
    let normalizes = true
    let architecture: ModelArchitecture? = nil

    init() throws { tokenizer = try loadTokenizer(path: miniLMPath) }

    func embed(_ texts: [String], progress: ((EmbeddingProgress) -> Void)?) throws -> [[Float]] {
        texts.map(vector)
    }

    func embedContextual(_ documents: [[String]], progress: ((EmbeddingProgress) -> Void)?) throws -> [[[Float]]] {
        documents.map { $0.map(vector) }
    }

    private func vector(_ text: String) -> [Float] {
        let topic = String(text.split(separator: " ").first ?? "")
        var centre = SplitMix64(seed: fnv(topic))
        var noise = SplitMix64(seed: fnv(text))
        let values = (0..<dimension).map { _ in centre.gaussian() + 0.35 * noise.gaussian() }
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return values.map { $0 / norm }
    }

    private func fnv(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}

/// A corpus of crawl records with generated attributes: a skewed language, sites with a long
/// tail (some under a two-label public suffix), a year, tags, a publication date, and some
/// records without each.
struct AttributedCorpus {
    static let topics = ["volcano", "chess", "bread", "violin", "glacier", "printer", "orchestra", "compiler"]
    static let languages = ["en", "en", "en", "en", "en", "en", "de", "de", "de", "fr", "fr", "ja"]
    static let tags = ["red", "green", "blue", "news", "blog"]

    var records: [CrawlRecord] = []
    /// Each record's attributes by field name, as a filter sees them.
    var attributes: [String: [String: JSONValue]] = [:]

    init(count: Int, seed: UInt64 = 3) {
        var random = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        for index in 0..<count {
            let topic = Self.topics[pick(Self.topics.count)]
            var fields: [String: JSONValue] = [:]
            var metadata: [String: JSONValue] = [:]
            let lang = index % 17 == 0 ? nil : Self.languages[pick(Self.languages.count)]
            if let lang { fields["lang"] = .string(lang) }
            // Site n with probability about 1/(n+1): a long tail.
            let site = Int(Double(pick(1000) + 1).squareRoot()) % 40
            let (host, registrable) =
                site % 3 == 0
                ? ("blog.site\(site).co.uk", "site\(site).co.uk") : ("www.site\(site).com", "site\(site).com")
            fields["host"] = .string(host)
            fields["site"] = .string(registrable)
            if index % 5 != 0 {
                let year = 2000 + pick(25)
                metadata["year"] = .number(Double(year))
                fields["metadata.year"] = .number(Double(year))
            }
            let tags = (0..<pick(3)).map { _ in JSONValue.string(Self.tags[pick(Self.tags.count)]) }
            metadata["tags"] = .array(tags)
            fields["metadata.tags"] = .array(tags)
            if index % 4 != 1 {
                let date = String(format: "20%02d-%02d-%02d", 20 + pick(5), 1 + pick(12), 1 + pick(28))
                metadata["published"] = .string(date)
                fields["metadata.published"] = .string(date)
            }
            let key = "d\(index)"
            records.append(
                CrawlRecord(
                    key: key, text: "\(topic) page \(index) about \(topic)s", url: "https://\(host)/\(index)",
                    lang: lang,
                    metadata: .object(metadata)))
            attributes[key] = fields
        }
    }
}

/// Filtered search over a collection: every hit matches, k come back whenever k match, the
/// exact filtered search equals brute force by the reference evaluation, and upserts and
/// deletes keep the indexes exact.
@Suite struct FilteredSearchTests {
    let temporary = TemporaryDirectory()
    let embedder: TopicEmbedder
    init() throws { embedder = try TopicEmbedder() }

    static let filters = [
        "lang = de", "lang = ja", "site IN (site1.com, site3.co.uk)", "metadata.year >= 2020", "NOT lang = en",
        "(lang = de OR lang = fr) AND metadata.year < 2010", "metadata.tags = red", "metadata.published >= 2023-06-01",
        "host = blog.site6.co.uk", "metadata.tags IN (news, blog) AND NOT site = site2.com",
    ]

    /// A collection of `corpus`, one chunk a document.
    func collection(_ corpus: AttributedCorpus, listCount: Int = 16) throws -> QuarryCollection {
        let collection = try QuarryCollection.create(
            at: temporary.path + "/c-\(UUID().uuidString)", dimension: embedder.dimension, listCount: listCount)
        var options = DocumentIngestOptions()
        options.batchSize = 128
        try collection.ingestDocuments(corpus.records, embedder: embedder, modelPath: "topic", options: options)
        return collection
    }

    /// The keys matching `filter` by the reference evaluation.
    func reference(_ filter: FilterExpression, _ corpus: AttributedCorpus, _ collection: QuarryCollection) throws
        -> Set<String>
    {
        let compiled = try CompiledFilter(filter, fields: try #require(collection.manifest.fields))
        return Set(corpus.attributes.filter { compiled.matches(attributes: $0.value) }.keys)
    }

    @Test func filteredSearchesEqualBruteForceAndReturnKWheneverKMatch() throws {
        let corpus = AttributedCorpus(count: 600)
        let collection = try collection(corpus)
        #expect(collection.manifest.fields?.map(\.name).contains("metadata.published") == true)
        let queries = try ["volcano", "chess", "compiler"].map { try collection.prepare(text: $0, embedder: embedder) }
        for text in Self.filters {
            let filter = try FilterExpression(infix: text)
            let matching = try reference(filter, corpus, collection)
            #expect(!matching.isEmpty && matching.count < corpus.records.count, "\(text)")
            #expect(try collection.filterMatches(filter).matches == matching.count, "\(text)")
            for query in queries {
                let everything = try collection.exactSearch(query, k: corpus.records.count)
                let expected = everything.filter { matching.contains(TextKey.splitChunk($0.key).document) }.prefix(10)
                let exact = try collection.exactSearch(query, k: 10, filter: filter)
                #expect(exact.map(\.key) == expected.map(\.key), "\(text)")
                // Exhaustive settings make the approximate search exact too.
                let wide = try collection.search(query, k: 10, nprobe: 16, oversample: 100, filter: filter)
                #expect(wide.map(\.key) == expected.map(\.key), "\(text)")
                // Narrow settings: only matches, and k of them whenever k match.
                let narrow = try collection.search(query, k: 10, nprobe: 1, oversample: 2, filter: filter)
                #expect(narrow.allSatisfy { matching.contains(TextKey.splitChunk($0.key).document) }, "\(text)")
                #expect(narrow.count == min(10, matching.count), "\(text)")
            }
        }
    }

    @Test func upsertsAndDeletesKeepTheIndexesExact() throws {
        var corpus = AttributedCorpus(count: 200, seed: 8)
        let collection = try collection(corpus, listCount: 4)
        // Change one record's language and site, drop another's year, delete a third.
        var changed = corpus.records[5]
        changed.lang = "fr"
        changed.url = "https://www.moved.org/5"
        changed.metadata = .object(["tags": .array([.string("green")])])
        corpus.records[5] = changed
        corpus.attributes["d5"] = [
            "lang": .string("fr"), "host": .string("www.moved.org"), "site": .string("moved.org"),
            "metadata.tags": .array([.string("green")]),
        ]
        try collection.ingestDocuments([changed], embedder: embedder, modelPath: "topic")
        try collection.delete(keys: ["d7"])
        corpus.attributes["d7"] = nil
        let query = try collection.prepare(text: "chess", embedder: embedder)
        for text in Self.filters + ["site = moved.org", "lang = fr", "NOT metadata.year >= 0"] {
            let filter = try FilterExpression(infix: text)
            let matching = try reference(filter, corpus, collection)
            #expect(try collection.filterMatches(filter).matches == matching.count, "\(text)")
            let hits = try collection.exactSearch(query, k: 200, filter: filter)
            #expect(Set(hits.map { TextKey.splitChunk($0.key).document }) == matching, "\(text)")
        }
        #expect(try collection.checkIntegrity().isConsistent)
    }

    @Test func theCLIFiltersWithEitherForm() async throws {
        let corpus = AttributedCorpus(count: 300)
        let collection = try collection(corpus)
        let query = try collection.prepare(text: "glacier", embedder: embedder)
        let queries = temporary.path + "/query.npy"
        try writeNPY(path: queries, type: .int8, rows: 1, columns: embedder.dimension, values: query.values)
        let german = try reference(try FilterExpression(infix: "lang = de"), corpus, collection)
        struct Output: Decodable { var hits: [Hit] }
        for form in [
            ["--where", "lang = de"], ["--filter", #"{"must": [{"key": "lang", "match": {"value": "de"}}]}"#],
        ] {
            let run = try await runQuarry(
                ["search", collection.path, "--vectors", queries, "-k", "5", "--json"] + form)
            #expect(run.status == 0, "\(run.errors)")
            let hits = try JSONDecoder().decode(Output.self, from: Data(run.output.utf8)).hits
            #expect(hits.count == 5 && hits.allSatisfy { german.contains(TextKey.splitChunk($0.key).document) })
            #expect(
                hits.map(\.key)
                    == (try collection.search(query, k: 5, filter: FilterExpression(infix: "lang = de"))).map(\.key))
        }
        let bad = try await runQuarry(["search", collection.path, "--vectors", queries, "--where", "lang = de AND"])
        #expect(bad.status != 0 && bad.errors.contains("at 14: expected a field"), "\(bad.errors)")
    }

    @Test func bareVectorsTakeTheirFieldsFromAnAttributesFile() throws {
        let data = try Dataset(in: temporary.path, count: 600)
        let languages = ["en", "de", "ja"]
        let lines = (0..<600).map { row in
            #"{"lang": "\#(languages[row % 3])", "url": "https://h\#(row % 10).example.org/", "metadata": {"row": \#(row)}}"#
        }
        let file = temporary.path + "/attributes.jsonl"
        try writeLines(lines, to: file)
        let collection = try QuarryCollection.create(
            at: temporary.path + "/vectors", dimension: Dataset.dimension, listCount: 8)
        try collection.ingest(vectors: VectorFile(path: data.basePath), attributes: VectorAttributes.read(path: file))
        let query = try collection.prepare(int8: data.query(0))
        let japanese = try FilterExpression(infix: "lang = ja AND metadata.row < 300")
        let hits = try collection.search(query, k: 10, nprobe: 1, filter: japanese)
        #expect(hits.count == 10 && hits.allSatisfy { Int($0.key)! % 3 == 2 && Int($0.key)! < 300 })
        let expected = try collection.exactSearch(query, k: 600).filter { Int($0.key)! % 3 == 2 && Int($0.key)! < 300 }
        #expect(try collection.exactSearch(query, k: 10, filter: japanese).map(\.key) == expected.prefix(10).map(\.key))
        #expect(try collection.filterMatches(try FilterExpression(infix: "site = example.org")).matches == 600)
        // A file of another length, or a malformed line, changes nothing.
        try writeLines(Array(lines.prefix(10)), to: file)
        #expect(throws: QuarryError.self) {
            try collection.ingest(
                vectors: VectorFile(path: data.basePath), attributes: VectorAttributes.read(path: file))
        }
        try writeLines(["{\"lang\": 3}"], to: file)
        #expect(throws: QuarryError.self) { try VectorAttributes.read(path: file) }
    }

    @Test func aFilterOnAFieldNotIndexedIsRefused() throws {
        let corpus = AttributedCorpus(count: 40)
        let collection = try collection(corpus, listCount: 2)
        let query = try collection.prepare(text: "chess", embedder: embedder)
        let error = #expect(throws: (any Error).self) {
            try collection.search(query, k: 5, filter: try FilterExpression(infix: "metadata.colour = red"))
        }
        #expect(ErrorKind(of: error!) == .invalidArgument)
        #expect("\(error!)".contains("metadata.colour"))
        // A range on a keyword field is refused too.
        #expect(throws: (any Error).self) {
            try collection.search(query, k: 5, filter: try FilterExpression(infix: "lang > de"))
        }
    }

    @Test func declaredFieldsAreTheOnlyMetadataIndexedAndReindexingAddsOne() throws {
        let corpus = AttributedCorpus(count: 60)
        let collection = try QuarryCollection.create(
            at: temporary.path + "/declared", dimension: embedder.dimension, listCount: 2,
            fields: [AttributeField(name: "metadata.year", kind: .number)])
        try collection.ingestDocuments(corpus.records, embedder: embedder, modelPath: "topic")
        let names = collection.manifest.fields?.map(\.name) ?? []
        #expect(names.contains("metadata.year") && !names.contains("metadata.tags"))
        let tagged = try FilterExpression(infix: "metadata.tags = red")
        #expect(throws: (any Error).self) { try collection.filterMatches(tagged) }
        try collection.reindexAttributes(declaring: [AttributeField(name: "metadata.tags", kind: .keyword)])
        #expect(try collection.filterMatches(tagged).matches == reference(tagged, corpus, collection).count)
        #expect(throws: (any Error).self) {
            try collection.reindexAttributes(declaring: [AttributeField(name: "metadata.year", kind: .keyword)])
        }
    }
}

@Suite struct RegistrableDomainTests {
    let rules = RegistrableDomain.parse(
        """
        // a few rules in the list's format
        com
        uk
        co.uk
        *.ck
        !www.ck
        """)

    @Test func theLongestRuleNamesThePublicSuffix() {
        #expect(RegistrableDomain.of("news.bbc.co.uk", rules: rules) == "bbc.co.uk")
        #expect(RegistrableDomain.of("WWW.Example.COM", rules: rules) == "example.com")
        #expect(RegistrableDomain.of("a.b.example.ck", rules: rules) == "b.example.ck")
        #expect(RegistrableDomain.of("www.ck", rules: rules) == "www.ck")
        #expect(RegistrableDomain.of("co.uk", rules: rules) == "co.uk")
        #expect(RegistrableDomain.of("x.unlisted", rules: rules) == "x.unlisted")
        #expect(RegistrableDomain.of("10.0.0.1", rules: rules) == "10.0.0.1")
        #expect(RegistrableDomain.of("localhost", rules: rules) == "localhost")
        // Without a list: the last two labels.
        #expect(RegistrableDomain.of("a.b.c.org", rules: .init()) == "c.org")
    }
}

extension SplitMix64 {
    /// A uniform value in (0, 1].
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) + 1e-7 }

    /// A standard normal value (Box-Muller).
    mutating func gaussian() -> Float { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
}
