import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The request shapes of the embedding servers `RemoteEmbedder` talks to.
public enum RemoteEmbeddingAPI: String, Sendable, Codable {
    /// `POST /v1/embeddings` as OpenAI, vLLM, TEI's OpenAI route and `quarry serve` answer it.
    case openAI = "openai"
    /// Text Embeddings Inference's native `POST /embed`.
    case tei
}

/// Where and how to reach an embedding server.
public struct RemoteEmbedderSettings: Sendable, Equatable {
    /// The endpoint, e.g. `http://gpu:8080/v1/embeddings` or `http://gpu:8080/embed`.
    public var url: URL
    public var api: RemoteEmbeddingAPI
    /// The `model` sent with each request (OpenAI API; TEI serves one model and ignores it).
    public var model: String?
    /// Matryoshka truncation asked of the server (nil: the model's full width).
    public var dimensions: Int?
    /// How an OpenAI-shaped server is asked to write vectors: `base64` (exact, a third of the
    /// size) or `float`. Either form is accepted in the answer.
    public var encodingFormat = "base64"
    /// Sent as `Authorization: Bearer KEY`; never recorded in a collection.
    public var apiKey: String?
    /// Tokens (special tokens included, counted with the local tokenizer) per request.
    public var tokensPerRequest = 8192
    /// Texts per request at most (TEI's default `--max-client-batch-size` is 32).
    public var textsPerRequest = 32
    /// Requests in flight at once.
    public var concurrentRequests = 4
    /// Tries per request before a retryable failure (connection refused, timeout, 408, 429,
    /// 5xx) becomes permanent.
    public var maxAttempts = 6
    /// The wait before the second try, doubled for each further try (at most 30 s; a
    /// `Retry-After` header, at most 30 s, is honoured when longer).
    public var initialBackoffSeconds = 0.5
    /// Timeout of one request.
    public var requestTimeoutSeconds = 300.0

    /// An endpoint whose path ends in `/embed` is TEI's native route; any other is OpenAI-shaped.
    public init(url: URL, model: String? = nil, dimensions: Int? = nil) {
        self.url = url
        api = url.path.hasSuffix("/embed") ? .tei : .openAI
        self.model = model
        self.dimensions = dimensions
    }

    /// Parses `--embedder URL`: an http or https URL.
    public init(endpoint: String, model: String? = nil, dimensions: Int? = nil) throws {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host != nil
        else {
            throw RemoteEmbedderError.invalidSettings(
                "'\(endpoint)' is not an http(s) URL such as http://127.0.0.1:8080/v1/embeddings")
        }
        if let dimensions, dimensions <= 0 {
            throw RemoteEmbedderError.invalidSettings("the requested dimensions must be positive, got \(dimensions)")
        }
        self.init(url: url, model: model, dimensions: dimensions)
    }

    /// What a collection records so that its queries are embedded the same way, and what
    /// tells two backends apart: `remote:API URL[ model=NAME][ dimensions=N]`.
    public var identity: String {
        var parts = ["\(Self.identityPrefix)\(api.rawValue)", url.absoluteString]
        if let model { parts.append("model=\(model)") }
        if let dimensions { parts.append("dimensions=\(dimensions)") }
        return parts.joined(separator: " ")
    }

    static let identityPrefix = "remote:"

    /// Whether a recorded model names a remote backend rather than a model directory.
    public static func isIdentity(_ recorded: String) -> Bool { recorded.hasPrefix(identityPrefix) }

    /// The settings a collection recorded as `identity` (the API key, sizes and retries take
    /// their defaults).
    public init(identity: String) throws {
        let parts = identity.split(separator: " ").map(String.init)
        guard let first = parts.first, first.hasPrefix(Self.identityPrefix), parts.count >= 2,
            let api = RemoteEmbeddingAPI(rawValue: String(first.dropFirst(Self.identityPrefix.count)))
        else { throw RemoteEmbedderError.invalidSettings("'\(identity)' is not a recorded remote embedder") }
        var model: String?
        var dimensions: Int?
        for part in parts.dropFirst(2) {
            if part.hasPrefix("model=") {
                model = String(part.dropFirst("model=".count))
            } else if part.hasPrefix("dimensions="), let value = Int(part.dropFirst("dimensions=".count)) {
                dimensions = value
            }
        }
        try self.init(endpoint: parts[1], model: model, dimensions: dimensions)
        self.api = api
    }
}

/// Why a remote embedding failed.
public enum RemoteEmbedderError: Error, CustomStringConvertible {
    case invalidSettings(String)
    /// The server could not be reached (after `attempts` tries).
    case unreachable(url: String, reason: String, attempts: Int)
    /// The server answered with an error status (after `attempts` tries).
    case httpStatus(url: String, status: Int, body: String, attempts: Int)
    /// The answer is not what was asked for (wrong count or dimension, non-finite values...).
    case invalidResponse(url: String, reason: String)
    /// The operation needs the local model.
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidSettings(let reason):
            "invalid embedder settings: \(reason)"
        case .unreachable(let url, let reason, let attempts):
            "the embedding server \(url) could not be reached (\(attempts) tries): \(reason)"
        case .httpStatus(let url, let status, let body, let attempts):
            "the embedding server \(url) answered HTTP \(status) (\(attempts) tries): \(body.prefix(300))"
        case .invalidResponse(let url, let reason):
            "the embedding server \(url) sent an unusable answer: \(reason)"
        case .unsupported(let reason):
            reason
        }
    }
}

/// Embeds texts on an embedding server (TEI, vLLM, an OpenAI-compatible API or another
/// `quarry serve`). Texts are sent in requests of at most `tokensPerRequest` tokens (counted
/// with the local `tokenizer`, which also sizes the chunks of a document ingest), several in
/// flight at once; retryable failures are retried with exponential backoff. Every answer is
/// checked (one finite vector of the expected width per text) before it is returned.
public final class RemoteEmbedder: TextEmbedding {
    public let settings: RemoteEmbedderSettings
    public let tokenizer: any Tokenizer
    public let maxTokens: Int
    public let dimension: Int
    public let normalizes: Bool
    public var architecture: ModelArchitecture? { nil }
    private let session: URLSession

    /// Connects to the server: one probe request learns the vectors' width and whether they
    /// are unit length (and fails early when the server is unreachable or refuses the settings).
    public init(settings: RemoteEmbedderSettings, tokenizer: any Tokenizer, maxTokens: Int) throws {
        guard settings.tokensPerRequest > 0, settings.textsPerRequest > 0, settings.concurrentRequests > 0,
            settings.maxAttempts > 0, settings.initialBackoffSeconds >= 0
        else {
            throw RemoteEmbedderError.invalidSettings(
                "the request sizes, concurrency and tries must be positive and the backoff at least 0")
        }
        let minimum = tokenizer.prefixTokens.count + tokenizer.suffixTokens.count + 1
        guard maxTokens >= minimum else {
            throw RemoteEmbedderError.invalidSettings("maxTokens \(maxTokens) is below \(minimum)")
        }
        self.settings = settings
        self.tokenizer = tokenizer
        self.maxTokens = maxTokens
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = settings.requestTimeoutSeconds
        configuration.httpMaximumConnectionsPerHost = settings.concurrentRequests
        session = URLSession(configuration: configuration)
        let probe = try Self.send(["dimension probe"], settings: settings, session: session, expectedDimension: nil)
        guard let vector = probe.first, !vector.isEmpty else {
            throw RemoteEmbedderError.invalidResponse(url: settings.url.absoluteString, reason: "an empty vector")
        }
        if let requested = settings.dimensions, vector.count != requested {
            throw RemoteEmbedderError.invalidResponse(
                url: settings.url.absoluteString,
                reason: "vectors of \(vector.count) dimensions where \(requested) were requested")
        }
        dimension = vector.count
        let norm = vector.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        normalizes = abs(norm - 1) < 1e-3
    }

    deinit { session.finishTasksAndInvalidate() }

    public func embed(_ texts: [String], progress: ((EmbeddingProgress) -> Void)? = nil) throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        let special = tokenizer.prefixTokens.count + tokenizer.suffixTokens.count
        let lengths = texts.map { min(tokenizer.encode($0).count + special, maxTokens) }
        let requests = Self.requestRanges(
            lengths: lengths, tokenLimit: settings.tokensPerRequest, textLimit: settings.textsPerRequest)

        let state = RequestState(count: requests.count)
        let finished = DispatchSemaphore(value: 0)
        var started = 0
        var running = 0
        var sequencesDone = 0
        var tokensDone = 0
        var vectors = [[Float]](repeating: [], count: texts.count)
        var failure: (any Error)?
        while started < requests.count || running > 0 {
            while failure == nil && running < settings.concurrentRequests && started < requests.count {
                let index = started
                let range = requests[index]
                let batch = Array(texts[range])
                let (settings, session, dimension) = (self.settings, self.session, self.dimension)
                DispatchQueue.global().async {
                    state.finish(
                        index,
                        Result {
                            try Self.send(batch, settings: settings, session: session, expectedDimension: dimension)
                        })
                    finished.signal()
                }
                started += 1
                running += 1
            }
            finished.wait()
            running -= 1
            for (index, result) in state.takeFinished() {
                switch result {
                case .success(let returned):
                    let range = requests[index]
                    for (offset, vector) in returned.enumerated() { vectors[range.lowerBound + offset] = vector }
                    sequencesDone += range.count
                    tokensDone += lengths[range].reduce(0, +)
                    progress?(
                        EmbeddingProgress(
                            sequencesDone: sequencesDone, sequenceCount: texts.count, tokensDone: tokensDone))
                case .failure(let error):
                    // Let the requests in flight end, start no more, report the first failure.
                    if failure == nil { failure = error }
                }
            }
        }
        if let failure { throw failure }
        return vectors
    }

    public func embedContextual(_ documents: [[String]], progress: ((EmbeddingProgress) -> Void)?) throws
        -> [[[Float]]]
    {
        throw RemoteEmbedderError.unsupported(
            "late chunking needs the local model (an embedding server embeds each chunk alone): pass --late-chunking false"
        )
    }

    /// Consecutive runs of texts for the requests: at most `tokenLimit` tokens (a longer text
    /// goes alone) and `textLimit` texts each.
    static func requestRanges(lengths: [Int], tokenLimit: Int, textLimit: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var tokens = 0
        for (index, length) in lengths.enumerated() {
            if index > start && (tokens + length > tokenLimit || index - start >= textLimit) {
                ranges.append(start..<index)
                start = index
                tokens = 0
            }
            tokens += length
        }
        if start < lengths.count { ranges.append(start..<lengths.count) }
        return ranges
    }

    // MARK: - One request

    /// Sends one request, retrying retryable failures, and returns its checked vectors.
    static func send(
        _ texts: [String], settings: RemoteEmbedderSettings, session: URLSession, expectedDimension: Int?
    ) throws -> [[Float]] {
        var request = URLRequest(url: settings.url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = settings.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try requestBody(texts, settings: settings)
        let url = settings.url.absoluteString
        var delay = settings.initialBackoffSeconds
        for attempt in 1...settings.maxAttempts {
            let outcome = perform(request, session: session)
            var wait = delay
            switch outcome {
            case .success(let status, let body, _) where (200..<300).contains(status):
                return try vectors(
                    in: body, count: texts.count, settings: settings, expectedDimension: expectedDimension)
            case .success(let status, let body, let retryAfter):
                let retryable = status == 408 || status == 429 || (500..<600).contains(status)
                guard retryable, attempt < settings.maxAttempts else {
                    throw RemoteEmbedderError.httpStatus(
                        url: url, status: status, body: String(decoding: body, as: UTF8.self), attempts: attempt)
                }
                if let retryAfter { wait = max(wait, min(retryAfter, 30)) }
            case .failure(let reason):
                guard attempt < settings.maxAttempts else {
                    throw RemoteEmbedderError.unreachable(url: url, reason: reason, attempts: attempt)
                }
            }
            Thread.sleep(forTimeInterval: wait)
            delay = min(delay * 2, 30)
        }
        preconditionFailure("unreachable: the last attempt returns or throws")
    }

    /// One HTTP exchange, waited for on the calling thread.
    private static func perform(_ request: URLRequest, session: URLSession) -> HTTPOutcome {
        let done = DispatchSemaphore(value: 0)
        let box = OutcomeBox()
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                box.outcome = .failure(error.localizedDescription)
            } else if let response = response as? HTTPURLResponse {
                let retryAfter = (response.value(forHTTPHeaderField: "Retry-After")).flatMap(Double.init)
                box.outcome = .success(status: response.statusCode, body: data ?? Data(), retryAfter: retryAfter)
            } else {
                box.outcome = .failure("no HTTP response")
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return box.outcome ?? .failure("no answer")
    }

    private static func requestBody(_ texts: [String], settings: RemoteEmbedderSettings) throws -> Data {
        var body: [String: Any]
        switch settings.api {
        case .openAI:
            body = ["input": texts, "encoding_format": settings.encodingFormat]
            if let model = settings.model { body["model"] = model }
        case .tei:
            body = ["inputs": texts, "truncate": true]
        }
        if let dimensions = settings.dimensions { body["dimensions"] = dimensions }
        return try JSONSerialization.data(withJSONObject: body)
    }

    /// The vectors of an answer: `{"data": [{"index", "embedding"}]}` (OpenAI; floats or
    /// base64) or `[[floats]]` (TEI), checked for count, width and finite values.
    static func vectors(in body: Data, count: Int, settings: RemoteEmbedderSettings, expectedDimension: Int?) throws
        -> [[Float]]
    {
        let url = settings.url.absoluteString
        func invalid(_ reason: String) -> RemoteEmbedderError { .invalidResponse(url: url, reason: reason) }
        guard let json = try? JSONSerialization.jsonObject(with: body) else { throw invalid("not JSON") }
        var vectors: [[Float]?]
        if let object = json as? [String: Any], let data = object["data"] as? [[String: Any]] {
            vectors = [[Float]?](repeating: nil, count: count)
            for (position, item) in data.enumerated() {
                let index = item["index"] as? Int ?? position
                guard vectors.indices.contains(index), vectors[index] == nil else {
                    throw invalid("embedding index \(index) is out of range or repeated for \(count) inputs")
                }
                guard let vector = decodeVector(item["embedding"]) else {
                    throw invalid("embedding \(index) is neither a list of numbers nor base64 float32")
                }
                vectors[index] = vector
            }
            guard data.count == count else { throw invalid("\(data.count) embeddings for \(count) inputs") }
        } else if let lists = json as? [Any] {
            guard lists.count == count else { throw invalid("\(lists.count) embeddings for \(count) inputs") }
            vectors = lists.map(decodeVector)
        } else {
            throw invalid("neither an OpenAI embeddings list nor a TEI array")
        }
        let width = expectedDimension ?? vectors.first??.count ?? 0
        return try vectors.enumerated().map { index, vector in
            guard let vector else { throw invalid("embedding \(index) is missing or malformed") }
            guard vector.count == width, width > 0 else {
                throw invalid("embedding \(index) has \(vector.count) dimensions; expected \(width)")
            }
            guard vector.allSatisfy(\.isFinite) else { throw invalid("embedding \(index) holds a non-finite value") }
            return vector
        }
    }

    private static func decodeVector(_ value: Any?) -> [Float]? {
        if let numbers = value as? [Any] {
            var vector: [Float] = []
            vector.reserveCapacity(numbers.count)
            for number in numbers {
                if let double = number as? Double {
                    vector.append(Float(double))
                } else if let integer = number as? Int {
                    vector.append(Float(integer))
                } else {
                    return nil
                }
            }
            return vector
        }
        guard let text = value as? String, let data = Data(base64Encoded: text), data.count % 4 == 0 else {
            return nil
        }
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        }
    }
}

/// How one HTTP exchange ended.
private enum HTTPOutcome {
    case success(status: Int, body: Data, retryAfter: Double?)
    case failure(String)
}

/// The outcome of one exchange, written by URLSession's callback and read after it signals.
private final class OutcomeBox: @unchecked Sendable {
    var outcome: HTTPOutcome?
}

/// Results of the requests of one `embed` call as they finish, guarded by a lock.
private final class RequestState: @unchecked Sendable {
    private let lock = NSLock()
    private var finished: [(Int, Result<[[Float]], any Error>)] = []

    init(count: Int) { finished.reserveCapacity(count) }

    func finish(_ index: Int, _ result: Result<[[Float]], any Error>) {
        lock.withLock { finished.append((index, result)) }
    }

    func takeFinished() -> [(Int, Result<[[Float]], any Error>)] {
        lock.withLock {
            defer { finished.removeAll() }
            return finished
        }
    }
}
