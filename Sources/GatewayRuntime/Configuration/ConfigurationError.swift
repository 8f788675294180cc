/// A configuration problem: `FILE:LINE: key: message`.
package struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    package var file: String
    package var line: Int?
    package var key: String?
    package var message: String

    package var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return "\(place): \(key.map { "\($0): " } ?? "")\(message)"
    }
}
