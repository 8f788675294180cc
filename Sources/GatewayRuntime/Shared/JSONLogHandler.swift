import Foundation
import Logging

/// One JSON object per line on standard error, for log collectors:
/// `{"ts":"...","level":"info","label":"ghl-gateway","message":"...","client":"...","status":200,...}`.
/// Metadata given as a number or a flag (`.stringConvertible(Int/Double/Bool)`) is written as a
/// JSON number or boolean, everything else as a string.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    private let label: String

    package init(label: String) {
        self.label = label
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var line = JSONLine()
        line.add("ts", Self.timestamp())
        line.add("level", event.level.rawValue)
        line.add("label", label)
        line.add("message", "\(event.message)")
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["ts", "level", "label", "message"].contains(key) {
            switch value {
            case .stringConvertible(let number as Int): line.add(key, literal: "\(number)")
            case .stringConvertible(let number as Double) where number.isFinite: line.add(key, literal: "\(number)")
            case .stringConvertible(let flag as Bool): line.add(key, literal: flag ? "true" : "false")
            default: line.add(key, "\(value)")
            }
        }
        FileHandle.standardError.write(Data((line.text + "\n").utf8))
    }

    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

extension GatewayConfiguration.Logging {
    /// Installs the configured format and level for the whole process (once, at start-up).
    package func bootstrap() {
        let level = self.level
        switch format {
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
