import Foundation
import QuarryTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A response read off a raw socket: the status code and the whole text.
struct RawResponse {
    var status: Int
    var text: String
}

/// Sends `request` byte for byte to 127.0.0.1:`port` and reads until the server closes the
/// connection (or 30 s pass), for requests no HTTP client library would send. The socket is
/// read on a thread of its own: blocked on a cooperative thread, it could starve the very
/// server it waits for.
func sendRaw(_ request: [UInt8], port: Int) async throws -> RawResponse {
    try await offPool { try exchange(request, port: port) }
}

/// `sendRaw` on the calling thread.
private func exchange(_ request: [UInt8], port: Int) throws -> RawResponse {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketFD >= 0 else { throw POSIXError(.EIO) }
    defer { close(socketFD) }
    var timeout = timeval(tv_sec: 30, tv_usec: 0)
    setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    var sent = 0
    while sent < request.count {
        let written = request[sent...].withUnsafeBytes { send(socketFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // The server may answer and close before the whole request is sent (413 on a long body).
        guard written > 0 else { break }
        sent += written
    }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = chunk.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { break }
        received += chunk[0..<count]
    }
    let text = String(decoding: received, as: UTF8.self)
    let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
    return RawResponse(status: status, text: text)
}

/// An HTTP/1.1 request with `Connection: close`.
func rawRequest(
    _ method: String, _ path: String, host: String = "localhost", headers: [String] = [], body: [UInt8] = []
) -> [UInt8] {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
    for header in headers { head += header + "\r\n" }
    return Array((head + "\r\n").utf8) + body
}
