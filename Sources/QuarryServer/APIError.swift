import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
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
    /// The status and message for any error a handler throws. Messages never show the paths in
    /// `hiddenPaths` (the data and model directories): a collection's directory is named by the
    /// collection's name instead.
    init(_ error: any Error, hiding hiddenPaths: [String] = []) {
        switch error {
        case let error as APIError:
            self = error
        case let error as WorkPool.Full:
            self.init(
                status: .tooManyRequests,
                message:
                    "the server is busy (every worker thread is taken and \(error.queueLimit) requests wait); retry later",
                headers: [.retryAfter: "1"])
        case let error as HTTPParserError:
            self.init(status: .badRequest, message: "malformed HTTP request: \(error)")
        case let error as HTTPError:
            self.init(status: error.status, message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            self.init(status: error.status, message: error.status.reasonPhrase)
        default:
            let kind = ErrorKind(of: error)
            var message = Self.withoutPaths("\(error)", hiddenPaths)
            if kind == .storage || kind == .corrupt { message = "storage failure: " + message }
            self.init(status: Self.status(of: kind), message: message)
        }
    }

    /// The one place error kinds become HTTP statuses.
    static func status(of kind: ErrorKind) -> HTTPResponse.Status {
        switch kind {
        case .invalidArgument: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .unsupported: .unsupportedMediaType
        case .resourceLimit: .contentTooLarge
        case .busy: .tooManyRequests
        case .corrupt, .storage: .internalServerError
        }
    }

    /// `message` with each of `paths` (and anything under it) replaced by the last component
    /// below it, or by "the server's files" for the path itself.
    private static func withoutPaths(_ message: String, _ paths: [String]) -> String {
        var result = message
        for path in paths.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: path + "/", with: "")
            result = result.replacingOccurrences(of: path, with: "the server's files")
        }
        return result
    }

    /// The JSON response.
    var response: Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body = (try? JSONEncoder().encode(["error": message])) ?? Data(#"{"error":"internal error"}"#.utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
