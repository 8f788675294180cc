import Foundation
import GatewayTestSupport
import Testing

/// Every Swift file is as `swift format` (the toolchain's, with the repository's `.swift-format`)
/// writes it: `swift format format --in-place --recursive Sources Tests Benchmarks Fuzz/Sources Plugins Package.swift`
/// fixes what this finds.
@Suite("Source format")
struct SourceFormatTests {
    @Test func everySourceFileIsFormatted() async throws {
        let root = GatewayHarness.repositoryRoot
        let paths = ["Sources", "Tests", "Benchmarks", "Fuzz/Sources", "Plugins", "Package.swift"].map { root + "/" + $0 }
        let lint = try await ChildProcess.run(
            "/usr/bin/env", ["swift", "format", "lint", "--strict", "--recursive", "--configuration", root + "/.swift-format"] + paths)
        #expect(lint.status == 0, "\(lint.text.split(separator: "\n").prefix(20).joined(separator: "\n"))")
    }
}
