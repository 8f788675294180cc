import Foundation
import GatewayTestSupport
import Testing

@testable import GatewayRuntime

/// Random request targets, biased towards the characters of traversal tricks, sent through a real
/// gateway: whatever reaches HighLevel was authorized in exactly that form, and nothing with a
/// traversal form ever does.
@Suite("Path property")
struct PathPropertyTests {
    static let pieces = [
        "/", "/", "/", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "%25", "%00", "%0a", "\\", ";", "a", "b",
        "contacts", "contacts", "tasks", "abc", "%41", "%7e", "~", "-", "_", "%C0%AE", "%e2%82%ac", "%", "%g", "\u{01}", "é",
    ]

    static func randomTarget(_ generator: inout SplitMix64) -> String {
        var path = "/contacts/"
        for _ in 0..<Int.random(in: 1...8, using: &generator) { path += pieces.randomElement(using: &generator)! }
        return path
    }

    @Test func canonicalizationIsStableAndNeverYieldsTraversal() throws {
        var generator = SplitMix64(seed: 42)
        var accepted = 0
        for _ in 0..<20_000 {
            let target = Self.randomTarget(&generator)
            guard let canonical = try? CanonicalTarget(target, maxLength: 8192) else { continue }
            accepted += 1
            // Canonical is a fixed point: what is forwarded re-canonicalizes to itself.
            #expect(try CanonicalTarget(canonical.path, maxLength: 8192).path == canonical.path, "\(target)")
            Self.expectNoTraversal(canonical.path, target)
        }
        #expect(accepted > 1_000)
    }

    @Test func whatIsForwardedIsWhatWasAuthorized() async throws {
        let client = TestClient("svc")
        try await GatewayHarness.run(clients: ["svc": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            var generator = SplitMix64(seed: 7)
            var forwarded = 0
            for _ in 0..<150 {
                let target = Self.randomTarget(&generator)
                let before = await harness.simulator.state.calls.count
                let answer = await RawHTTP.exchange(
                    port: harness.proxyPort,
                    "GET \(target) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(client.key)\r\nConnection: close\r\n\r\n")
                let calls = await harness.simulator.state.calls
                guard calls.count > before, let call = calls.last else {
                    #expect(!answer.hasPrefix("HTTP/1.1 200"), "\(target) answered 200 without reaching HighLevel")
                    continue
                }
                forwarded += 1
                let canonical = try CanonicalTarget(target, maxLength: 8192)
                #expect(call.path == canonical.path, "\(target) was authorized as \(canonical.path) but forwarded as \(call.path)")
                Self.expectNoTraversal(call.path, target)
            }
            #expect(forwarded > 5)
        }
    }

    static func expectNoTraversal(_ path: String, _ source: String) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        #expect(!segments.contains("."), "\(source) → \(path)")
        #expect(!segments.contains(".."), "\(source) → \(path)")
        #expect(!path.contains("//"), "\(source) → \(path)")
        for encoded in ["%2F", "%2f", "%5C", "%5c", "%25", "%2E", "%2e", "\\", ";", "%00"] {
            #expect(!path.contains(encoded), "\(source) → \(path)")
        }
    }
}
