import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Sends raw bytes to 127.0.0.1:port and reads until the server closes or `timeout` passes: for
/// requests no HTTP client will send (absolute-form targets, duplicate lengths, bare CR).
package enum RawHTTP {
    /// Sends `request` and returns what comes back: one response, or with `untilClosed` everything
    /// until the server closes (pipelined requests ending in `Connection: close`).
    package static func exchange(port: Int, _ request: String, timeout: TimeInterval = 5, untilClosed: Bool = false) async -> String {
        // A thread of its own: blocking socket calls must not hold one of the few cooperative-pool threads.
        await withCheckedContinuation { continuation in
            let bytes = Array(request.utf8)
            Thread.detachNewThread {
                continuation.resume(returning: blockingExchange(port: port, bytes, timeout: timeout, untilClosed: untilClosed))
            }
        }
    }

    private static func blockingExchange(port: Int, _ bytes: [UInt8], timeout: TimeInterval, untilClosed: Bool) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
            // One response is enough: stop once the headers and a declared body have arrived.
            if !untilClosed, let text = String(bytes: received, encoding: .utf8), let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                    text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) >= length
                {
                    break
                }
            }
        }
        return String(decoding: received, as: UTF8.self)
    }
}
