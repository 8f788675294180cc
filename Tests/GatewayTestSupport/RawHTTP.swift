/// Sends raw bytes to 127.0.0.1:port and reads the answer: for requests no HTTP client will send
/// (absolute-form targets, duplicate lengths, bare CR).
package enum RawHTTP {
    /// Sends `request` and returns what comes back: one response, or with `untilClosed` everything
    /// until the server closes (pipelined requests ending in `Connection: close`).
    package static func exchange(port: Int, _ request: String, timeout: Double = 5, untilClosed: Bool = false) async -> String {
        guard let connection = RawConnection(port: port) else { return "" }
        connection.send(request)
        return untilClosed ? await connection.readUntilClosed(timeout: timeout).text : await connection.readResponse(timeout: timeout).text
    }
}
