import GatewayPolicy
import HTTPTypes
import Synchronization

/// Request ids, in the `X-Request-Id` header of every answer and log line: the caller's own when
/// short and plain, else a new one (24 hex digits: a random prefix drawn once per process and a
/// counter, unique without a system call per request).
package enum RequestID {
    package static let header = HTTPField.Name(headerName)!
    /// The same name for NIO's header type.
    package static let headerName = "X-Request-Id"

    /// The caller's id from `headers` when it is usable, else a new one.
    package static func of(_ headers: HTTPFields) -> String {
        if let given = headers[header], (1...128).contains(given.utf8.count),
            given.utf8.allSatisfy({
                $0 < 0x80 && (($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E)
            })
        {
            return given
        }
        return make()
    }

    package static func make() -> String {
        let high = prefix
        let low = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 24) { buffer in
            for index in 0..<8 { buffer[index] = ASCIIHex.digit(UInt8(truncatingIfNeeded: high >> (28 - 4 * index)) & 0xF) }
            for index in 0..<16 { buffer[8 + index] = ASCIIHex.digit(UInt8(truncatingIfNeeded: low >> (60 - 4 * index)) & 0xF) }
            return 24
        }
    }

    private static let prefix = UInt32.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(UInt64.random(in: 0..<(1 << 62)))
}
