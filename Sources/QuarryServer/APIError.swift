import Foundation
import Hummingbird
import NIOCore
import Quarry

/// An error answered with its status and `{"error": message}`.
struct APIError: Error, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    var headers: HTTPFields = [:]

    var description: String { message }

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, message: message) }
}

extension APIError {
    /// The status and message for any error a handler throws.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as QuarryError:
            self.init(status: Self.status(of: error), message: error.description)
        case let error as WorkPool.Full:
            self.init(
                status: .tooManyRequests,
                message:
                    "the server is busy (every worker thread is taken and \(error.queueLimit) requests wait); retry later",
                headers: [.retryAfter: "1"])
        case let error as HTTPError:
            self.init(status: error.status, message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            self.init(status: error.status, message: error.status.reasonPhrase)
        default:
            self.init(status: .internalServerError, message: "\(error)")
        }
    }

    private static func status(of error: QuarryError) -> HTTPResponse.Status {
        switch error {
        case .collectionNotFound, .notACollection, .documentNotFound: .notFound
        case .collectionExists, .incompatibleSchema, .modelMismatch, .conflict: .conflict
        case .dimensionMismatch, .nonFiniteValue, .invalidArgument, .invalidKey, .invalidRecord, .untrained:
            .badRequest
        }
    }

    /// The JSON response.
    var response: Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data(#"{"error":"internal error"}"#.utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
