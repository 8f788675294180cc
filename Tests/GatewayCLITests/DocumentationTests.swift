import Foundation
import GatewayTestSupport
import Testing

/// The manual's links: every relative link in README.md and docs/ names a file of the repository
/// (and, with `#anchor`, one of its headings), and none leaves the repository.
@Suite("Documentation links")
struct DocumentationTests {
    static let root = URL(fileURLWithPath: GatewayHarness.repositoryRoot)

    static var pages: [URL] {
        let docs = (try? FileManager.default.contentsOfDirectory(at: root.appending(path: "docs"), includingPropertiesForKeys: nil)) ?? []
        return [root.appending(path: "README.md"), root.appending(path: "ARCHITECTURE.md")] + docs.filter { $0.pathExtension == "md" }
    }

    /// GitHub's anchor for a heading: lower-cased, punctuation dropped, spaces to dashes.
    static func anchor(_ heading: String) -> String {
        String(
            heading.lowercased().compactMap { character -> Character? in
                if character == " " { return "-" }
                return character.isLetter || character.isNumber || character == "-" || character == "_" ? character : nil
            })
    }

    static func anchors(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").filter { $0.hasPrefix("#") }.map { anchor(String($0.drop { $0 == "#" }.dropFirst())) })
    }

    @Test func everyRelativeLinkResolves() throws {
        #expect(Self.pages.count >= 10)
        let link = /\]\(([^)\s]+)\)/
        var checked = 0
        for page in Self.pages {
            let text = try String(contentsOf: page, encoding: .utf8)
            for match in text.matches(of: link) {
                let target = String(match.1)
                if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:") { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                let file = parts[0].isEmpty ? page : page.deletingLastPathComponent().appending(path: String(parts[0])).standardized
                #expect(file.path.hasPrefix(Self.root.standardized.path), "\(page.lastPathComponent) links outside the repository: \(target)")
                #expect(FileManager.default.fileExists(atPath: file.path), "\(page.lastPathComponent) links to a missing file: \(target)")
                if parts.count == 2, file.pathExtension == "md", let linked = try? String(contentsOf: file, encoding: .utf8) {
                    #expect(Self.anchors(linked).contains(String(parts[1])), "\(page.lastPathComponent): no heading #\(parts[1]) in \(parts[0])")
                }
                checked += 1
            }
        }
        #expect(checked >= 20)
    }

    @Test func theFrontPageStaysAFrontPage() throws {
        let readme = try String(contentsOf: Self.root.appending(path: "README.md"), encoding: .utf8)
        #expect(readme.split(separator: "\n", omittingEmptySubsequences: false).count <= 200)
        #expect(readme.contains("swift run ghl-gateway sandbox") && readme.contains("swift test"))
    }
}
