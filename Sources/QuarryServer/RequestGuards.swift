import Foundation
import Hummingbird
import Quarry

/// Answers 415 to a request that carries a body without a JSON (or JSON-lines) content type.
/// A web page may send a "simple" cross-origin POST (`text/plain`, form encodings) without a
/// CORS preflight; requiring JSON means no page can drive the server through a visitor's
/// browser.
struct JSONContentTypeMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Media types accepted for request bodies.
    static var acceptedTypes: Set<String> {
        [
            "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl",
            "application/jsonlines",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.mayCarryBody else { return try await next(request, context) }
        let mediaType = request.headers[.contentType].map { header in
            header.split(separator: ";", maxSplits: 1).first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        }
        guard let mediaType, Self.acceptedTypes.contains(mediaType) else {
            throw APIError(
                status: .unsupportedMediaType,
                message: "send the body as Content-Type: application/json (or application/x-ndjson for records)")
        }
        return try await next(request, context)
    }
}

/// Answers 421 to a request whose Host header names a host this server does not answer to, so
/// a page whose DNS name was rebound to 127.0.0.1 cannot reach a loopback server.
struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowed: AllowedHosts

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let authority = request.head.authority, !allowed.admits(authority: authority) {
            throw APIError(
                status: .misdirectedRequest,
                message: "this server does not answer to the host in the Host header; start it with --allowed-host")
        }
        return try await next(request, context)
    }
}

/// The host names (without ports) a server answers to.
struct AllowedHosts: Sendable {
    private let names: Set<String>
    private let anyHost: Bool
    private let anyAddressLiteral: Bool

    /// The names for a server listening on `listenHost`, plus `extra` (`*` admits every host).
    /// Loopback names are always admitted; a server listening on every interface also admits
    /// any IP address literal (a client that typed the machine's address).
    init(listenHost: String, extra: [String]) {
        let loopback: Set<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
        let listen = listenHost.lowercased()
        var names = loopback.union(extra.map { $0.lowercased() })
        names.insert(listen)
        self.names = names
        anyHost = extra.contains("*")
        anyAddressLiteral = listen == "0.0.0.0" || listen == "::" || listen == "[::]"
    }

    /// Whether `authority` (a Host header: host, optionally `:port`) names an admitted host.
    func admits(authority: String) -> Bool {
        if anyHost { return true }
        let host = Self.hostPart(of: authority.lowercased())
        if names.contains(host) || host.hasSuffix(".localhost") { return true }
        return anyAddressLiteral && Self.isAddressLiteral(host)
    }

    private static func hostPart(of authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[...end])
        }
        return String(authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    private static func isAddressLiteral(_ host: String) -> Bool {
        if host.hasPrefix("[") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in UInt8(part) != nil }
    }
}

/// A count of bytes in use, bounded by `limit`.
final class ByteBudget: Sendable {
    let limit: Int
    private let used = LockedBox(0)

    init(limit: Int) { self.limit = limit }

    /// Takes `bytes` if they fit under the limit.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard used + bytes <= limit else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) { used.withLock { $0 -= bytes } }
}

extension Request {
    /// Whether the method is one whose body the server reads (POST, PUT, PATCH).
    var mayCarryBody: Bool { head.method == .post || head.method == .put || head.method == .patch }
}
