import Foundation
import Quarry

// MARK: - Requests

/// `POST /v1/collections/{name}/search`: exactly one of `query` (text), `vector` or `key` (the
/// neighbours of a stored document, itself left out).
struct SearchRequest: Decodable {
    var query: String?
    var vector: [Float]?
    var key: String?
    var k: Int?
    var nprobe: Int?
    var oversample: Double?
    var byDocument: Bool?
    var include: [String]?
    var exact: Bool?
    /// A filter in Qdrant's JSON shape (`FilterExpression(json:)`).
    var filter: JSONValue?
    /// A filter in the short infix form (`FilterExpression(infix:)`).
    var condition: String?

    enum CodingKeys: String, CodingKey {
        case query, vector, key, k, nprobe, oversample, include, exact, filter
        case byDocument = "by_document"
        case condition = "where"
    }

    /// The request's filter (both forms: their conjunction), or nil.
    func filterExpression() throws -> FilterExpression? {
        let parts = try [filter.map(FilterExpression.init(json:)), condition.map(FilterExpression.init(infix:))]
            .compactMap { $0 }
        return parts.isEmpty ? nil : parts.count == 1 ? parts[0] : .and(parts)
    }
}

/// The stored fields a search may return beside each hit's key and score.
enum HitField: String, CaseIterable {
    case title, url, snippet, text, metadata
}

/// `POST /v1/collections`.
struct CreateCollectionRequest: Decodable {
    var name: String
    var dims: Int?
    var nlist: Int?
}

/// What `/v1/embeddings` embeds, in the shapes OpenAI's and TEI's `input` allow: one text, a list
/// of texts, one list of token ids or a list of them (ids without special tokens).
enum EmbeddingInput: Decodable {
    case texts([String])
    case tokenIDs([[Int]])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .texts([text])
        } else if let texts = try? container.decode([String].self) {
            self = .texts(texts)
        } else if let ids = try? container.decode([Int].self) {
            self = .tokenIDs([ids])
        } else if let lists = try? container.decode([[Int]].self) {
            self = .tokenIDs(lists)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription:
                    "give a text, a list of texts, a list of token ids or a list of token-id lists (integers)")
        }
    }
}

/// `POST /v1/embeddings`.
struct EmbeddingsRequest: Decodable {
    var input: EmbeddingInput
    var model: String?
    var dimensions: Int?
    var encodingFormat: EmbeddingEncoding?

    enum CodingKeys: String, CodingKey {
        case input, model, dimensions
        case encodingFormat = "encoding_format"
    }
}

/// `POST /v1/contextualizedembeddings`: the chunks of each document, in order.
struct ContextualizedEmbeddingsRequest: Decodable {
    var input: [[String]]
    var model: String?
    var dimensions: Int?
    var encodingFormat: EmbeddingEncoding?

    enum CodingKeys: String, CodingKey {
        case input, model, dimensions
        case encodingFormat = "encoding_format"
    }
}

/// How an embedding is written in a response.
enum EmbeddingEncoding: String, Decodable, CaseIterable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let encoding = Self(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription:
                    "'\(name)' is not an encoding: use \(Self.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = encoding
    }

    /// JSON numbers.
    case float
    /// Base64 of the float32 values, little-endian.
    case base64
    /// tanh-INT8 as the pplx-embed model card quantizes: `clamp(round(tanh(x) * 127), -128, 127)`.
    case int8
    /// The sign of each dimension, +1 (`x >= 0`) or -1, as the model card's `quantize_binary`.
    case binary
    /// The sign bits (`x >= 0`) packed most significant bit first, as `numpy.packbits`.
    case ubinary
    /// Base64 of the tanh-INT8 bytes (the Perplexity API's default).
    case base64Int8 = "base64_int8"
    /// Base64 of the sign bits packed least significant bit first (the Perplexity API's layout).
    case base64Binary = "base64_binary"

    /// `vector` in this encoding.
    func encode(_ vector: [Float]) -> EncodedEmbedding {
        switch self {
        case .float:
            return .floats(vector)
        case .base64:
            var bytes = [UInt8]()
            bytes.reserveCapacity(vector.count * 4)
            for value in vector {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
            return .base64(Data(bytes).base64EncodedString())
        case .int8:
            return .integers(EmbeddingQuantization.int8Tanh(vector).map(Int.init))
        case .binary:
            return .integers(EmbeddingQuantization.binary(vector).map(Int.init))
        case .ubinary:
            return .integers(EmbeddingQuantization.packedBitsMSBFirst(vector).map(Int.init))
        case .base64Int8:
            return .base64(
                Data(EmbeddingQuantization.int8Tanh(vector).map { UInt8(bitPattern: $0) }).base64EncodedString())
        case .base64Binary:
            return .base64(Data(EmbeddingQuantization.packedBitsLSBFirst(vector)).base64EncodedString())
        }
    }
}

// MARK: - Responses

/// One embedding as written in a response.
enum EncodedEmbedding: Encodable {
    case floats([Float])
    case integers([Int])
    case base64(String)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .floats(let values): try container.encode(values)
        case .integers(let values): try container.encode(values)
        case .base64(let text): try container.encode(text)
        }
    }
}

struct EmbeddingObject: Encodable {
    var object = "embedding"
    var index: Int
    var embedding: EncodedEmbedding
}

struct Usage: Encodable {
    var promptTokens: Int
    var totalTokens: Int

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case totalTokens = "total_tokens"
    }
}

/// The OpenAI-shaped answer to `/v1/embeddings`.
struct EmbeddingsResponse: Encodable {
    var object = "list"
    var data: [EmbeddingObject]
    var model: String
    var usage: Usage
}

/// One document's chunk embeddings in `/v1/contextualizedembeddings`.
struct DocumentEmbeddings: Encodable {
    var object = "list"
    var index: Int
    var data: [EmbeddingObject]
}

/// The answer to `/v1/contextualizedembeddings`, shaped as Perplexity's API answers.
struct ContextualizedEmbeddingsResponse: Encodable {
    var object = "list"
    var data: [DocumentEmbeddings]
    var model: String
    var usage: Usage
}

/// One entry of `GET /v1/models`, as OpenAI's API lists a model.
struct ModelObject: Encodable {
    var id: String
    var object = "model"
    /// Unix seconds.
    var created: Int
    var ownedBy = "quarry"

    enum CodingKeys: String, CodingKey {
        case id, object, created
        case ownedBy = "owned_by"
    }
}

/// The answer to `GET /v1/models`.
struct ModelList: Encodable {
    var object = "list"
    var data: [ModelObject]
}

struct SearchResponse: Codable {
    var hits: [DocumentHit]
}

/// A collection's name and figures, flattened into one object.
struct NamedStats: Encodable {
    var name: String
    var stats: CollectionStats

    private enum NameKey: String, CodingKey { case name }

    func encode(to encoder: any Encoder) throws {
        try stats.encode(to: encoder)
        var container = encoder.container(keyedBy: NameKey.self)
        try container.encode(name, forKey: .name)
    }
}

struct CollectionList: Encodable {
    var collections: [NamedStats]
}

// MARK: - Decoding

/// Decodes a request body, with an error message that says what is wrong.
func decodeBody<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch let error as DecodingError {
        throw APIError.badRequest(describe(error))
    }
}

private func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context, appending key: (any CodingKey)? = nil) -> String {
        let keys = context.codingPath + (key.map { [$0] } ?? [])
        return keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            .trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
    switch error {
    case .keyNotFound(let key, let context):
        return "the request has no \"\(path(context, appending: key))\""
    case .valueNotFound(_, let context):
        return "\"\(path(context))\" must not be null"
    case .typeMismatch(let type, let context):
        return "\"\(path(context))\" has the wrong type (expected \(typeName(type)))"
    case .dataCorrupted(let context) where context.codingPath.isEmpty:
        return "malformed JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
    case .dataCorrupted(let context):
        return "\"\(path(context))\" is invalid: \(context.debugDescription)"
    @unknown default:
        return "malformed request: \(error)"
    }
}

private func typeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Int.Type: "an integer"
    case is Float.Type, is Double.Type: "a number"
    case is Bool.Type: "true or false"
    case is [String].Type: "a list of strings"
    default: "\(type)"
    }
}
