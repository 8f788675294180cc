import Foundation
import GatewayPolicy
import ScopeCatalog

@testable import GatewayRuntime

/// Lines in an input as YAML counts them (`\r\n`, `\r` and `\n` each end one), for checking
/// that a diagnostic points inside it.
func lineCount(_ input: [UInt8]) -> Int {
    var lines = 1
    for (index, byte) in input.enumerated() {
        if byte == UInt8(ascii: "\n") || (byte == UInt8(ascii: "\r") && input.dropFirst(index + 1).first != UInt8(ascii: "\n")) { lines += 1 }
    }
    return lines
}

/// The scopes table reader ends on any text and every diagnostic points at a line of it.
enum ScopeTableFuzzer: Fuzzer {
    static let name = "scope-table"

    static func check(_ input: [UInt8]) {
        let table = ScopeTable(parsing: String(decoding: input, as: UTF8.self), file: "fuzz.md")
        let lines = lineCount(input)
        for diagnostic in table.diagnostics where !(1...lines).contains(diagnostic.location.line) {
            violated("a diagnostic at line \(diagnostic.location.line) of \(lines)", input)
        }
        for entry in table.entries where !(1...lines).contains(entry.location.line) { violated("a route at line \(entry.location.line)", input) }
    }
}

/// The OpenAPI reader ends on any bytes and every diagnostic points at a line of them.
enum OpenAPISpecFuzzer: Fuzzer {
    static let name = "openapi-spec"

    static func check(_ input: [UInt8]) {
        let spec = OpenAPISpec(parsing: input, file: "fuzz.json")
        let lines = lineCount(input)
        for diagnostic in spec.diagnostics where !(1...lines).contains(diagnostic.location.line) {
            violated("a diagnostic at line \(diagnostic.location.line) of \(lines)", input)
        }
    }
}

/// A client policy either loads or is refused with `file:line` issues inside the file.
enum PolicyFileFuzzer: Fuzzer {
    static let name = "policy-file"
    static let catalog: CompiledCatalog = {
        let root = ProcessInfo.processInfo.environment["GHL_FUZZ_ROOT"] ?? FileManager.default.currentDirectoryPath
        return try! CatalogLoader.load(
            tablePath: root + "/" + CatalogLoader.defaultTablePath, overridesPath: root + "/" + CatalogLoader.defaultOverridesPath)
    }()

    static func check(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        do {
            let set = try PolicyLoader.parse([(path: "fuzz.yaml", text: text)], catalog: catalog, environment: [:])
            if set.clients.count != 1 { violated("a file that loads holds \(set.clients.count) clients", input) }
        } catch {
            let lines = lineCount(input)
            if error.issues.isEmpty { violated("refused without an issue", input) }
            for issue in error.issues where issue.file != "fuzz.yaml" || !(1...lines + 1).contains(issue.line) {
                violated("an issue at \(issue.file):\(issue.line) of \(lines) lines", input)
            }
        }
    }
}

/// A configuration either loads or fails with one error naming the file (and a line inside it).
enum ConfigurationFuzzer: Fuzzer {
    static let name = "configuration"

    static func check(_ input: [UInt8]) {
        var parser = ConfigurationParser(file: "fuzz.yaml", environment: ["SECRET": "s3cret"])
        do {
            _ = try parser.parse(String(decoding: input, as: UTF8.self))
        } catch {
            if error.file != "fuzz.yaml" { violated("an error naming \(error.file)", input) }
            if let line = error.line, !(1...lineCount(input) + 1).contains(line) { violated("an error at line \(line)", input) }
            if error.description.contains("s3cret") { violated("an error that repeats a secret", input) }
        }
    }
}
