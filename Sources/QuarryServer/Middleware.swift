import Foundation
import Hummingbird

/// The outermost middleware: turns every error into its status and `{"error": message}`, then
/// counts and times the request by route pattern, method and final status.
struct MetricsAndErrorsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    /// Paths no error message may show (the data and model directories).
    let hiddenPaths: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            let answer = APIError(error, hiding: hiddenPaths)
            if answer.status.code >= 500 {
                FileHandle.standardError.write(
                    Data("quarry serve: \(request.method) \(request.uri.path.prefix(200)): \(error)\n".utf8))
            }
            response = answer.response
        }
        metrics.record(
            route: context.endpointPath ?? "unmatched", method: request.method, status: response.status,
            duration: ContinuousClock.now - started)
        return response
    }
}

/// With an API key set, answers 401 to requests without `Authorization: Bearer KEY`, except on
/// `openPaths`.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String?
    let openPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let apiKey, !openPaths.contains(request.uri.path) else { return try await next(request, context) }
        let presented = request.headers[.authorization].flatMap { header -> String? in
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        guard let presented, constantTimeEqual(presented, apiKey) else {
            throw APIError(
                status: .unauthorized, message: "missing or wrong API key: send Authorization: Bearer KEY",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    /// Compares without stopping at the first difference, so timing does not reveal the key.
    private func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
        for index in 0..<min(x.count, y.count) { difference |= x[index] ^ y[index] }
        return difference == 0 && x.count == y.count
    }
}

/// Bounds request bodies: one whose declared length exceeds `maxBytes` gets 413 at once (bodies
/// without a length are cut off by the handlers' `collectBody(upTo:)`), and all requests in
/// flight together hold at most `budget.limit` bytes: a request reserves its declared length
/// (or `maxBytes` when it declares none) before its body is read, and one that does not fit
/// gets 503 at once.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBytes: Int
    let budget: ByteBudget

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > maxBytes {
            throw APIError(
                status: .contentTooLarge, message: "the request body is \(declared) bytes; the limit is \(maxBytes)")
        }
        guard request.mayCarryBody else { return try await next(request, context) }
        let reserved = min(max(declared ?? maxBytes, 0), maxBytes)
        guard budget.reserve(reserved) else {
            throw APIError(
                status: .serviceUnavailable,
                message: "the server holds its limit of \(budget.limit) bytes of request bodies; retry later",
                headers: [.retryAfter: "1"])
        }
        defer { budget.release(reserved) }
        return try await next(request, context)
    }
}
