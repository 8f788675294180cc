import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One client connection to 127.0.0.1:port held open by the test, for what a client does slowly
/// or not at all (a head never finished, a body trickled, a connection left idle). Blocking socket
/// calls run on a thread of their own, never on the cooperative pool.
package final class RawConnection: @unchecked Sendable {
    private let fd: Int32

    /// Nil when the connection could not be made.
    package init?(port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends `text`; false when the server has closed the connection.
    @discardableResult
    package func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Everything read until the server closes the connection (`closed`) or `timeout` passes.
    package func readUntilClosed(timeout: TimeInterval) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { [self] in continuation.resume(returning: blockingRead(until: nil, timeout: timeout)) }
        }
    }

    /// Everything read until `marker` has arrived, the server closes, or `timeout` passes.
    package func read(until marker: String, timeout: TimeInterval) async -> (text: String, closed: Bool) {
        await read(timeout: timeout) { $0.contains(marker) }
    }

    /// One response: read until its head and the body its `Content-Length` declares have arrived.
    package func readResponse(timeout: TimeInterval) async -> (text: String, closed: Bool) {
        await read(timeout: timeout) { text in
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<end.lowerBound].lowercased()
            guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
            else { return false }
            return text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) >= length
        }
    }

    private func read(timeout: TimeInterval, until done: @escaping @Sendable (String) -> Bool) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { [self] in continuation.resume(returning: blockingRead(until: done, timeout: timeout)) }
        }
    }

    private func blockingRead(until done: ((String) -> Bool)?, timeout: TimeInterval) -> (text: String, closed: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, remaining) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
            if let done, done(String(decoding: received, as: UTF8.self)) { break }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}
