import Testing

@testable import GatewayProxy

@Suite("Stage: multipart target fields")
struct MultipartTargetScannerTests {
    private func scan(_ parts: [String], epilogue: String = "--\r\n") throws(MultipartTargetScanner.Failure) -> [String: [String]] {
        let body = parts.map { "--B\r\n\($0)\r\n" }.joined() + "--B" + epilogue
        return try MultipartTargetScanner.scan(Array(body.utf8), boundary: "B", names: ["locationId", "companyId"])
    }

    @Test func textFieldsNamingATargetAreRead() throws {
        let fields = try scan([
            "Content-Disposition: form-data; name=\"file\"; filename=\"locationId.txt\"\r\n\r\nlocationId=x",
            "content-disposition: form-data; name=\"locationId[]\"\r\n\r\nlocA",
            "Content-Disposition: form-data; name=\"companyId\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\ncmpA",
            "Content-Disposition: form-data; name=\"note\"\r\n\r\nline\r\n-B and --B mid-line are not delimiters",
            "Content-Disposition: attachment; name=\"locationId\"\r\n\r\nignored",
        ])
        #expect(fields == ["locationId": ["locA"], "companyId": ["cmpA"]])
        #expect(try scan(["Content-Disposition: form-data; name=\"locationId\"\r\n\r\n"]) == ["locationId": [""]])
    }

    @Test func whatCouldBeReadTwoWaysIsRefused() {
        let named = "Content-Disposition: form-data; name=\"locationId\"\r\n"
        let unreadable: [[UInt8]] =
            [
                "Content-Disposition: form-data; name*=utf-8''locationId\r\n\r\nlocA",
                "Content-Disposition: form-data; name=\"locationId\"; filename=\"a\"\r\n\r\nlocA",
                named + "Content-Type: text/plain; charset=utf-16\r\n\r\nlocA",
                named + "Content-Transfer-Encoding: base64\r\n\r\nbG9jQQ==",
            ].map { Array("--B\r\n\($0)\r\n--B--".utf8) } + [Array("--B\r\n\(named)\r\nloc".utf8) + [0xFF] + Array("\r\n--B--".utf8)]
        for body in unreadable {
            do {
                let fields = try MultipartTargetScanner.scan(body, boundary: "B", names: ["locationId"])
                Issue.record("read \(fields) from \(String(decoding: body, as: UTF8.self))")
            } catch {
                guard case .unreadable = error else {
                    Issue.record("\(error)")
                    continue
                }
            }
        }
    }

    @Test func aMalformedBodyIsRefused() {
        let part = { (headers: String) in "--B\r\n\(headers)\r\n\r\nx\r\n--B--" }
        let malformed = [
            "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",
            part("Content-Disposition: form-data; name=\"a\"; name=\"locationId\""),
            part("Content-Disposition: form-data\r\nContent-Disposition: form-data; name=locationId"),
            part("Content-Disposition : form-data; name=locationId"),
            part(" folded: yes"),
            part("Content-Disposition: form-data; name=locationId[]"),
            "no delimiter",
            part("Content-Disposition: form-data; name=a").replacingOccurrences(of: "\r\nx", with: "\r\nx\r\n--Bx"),
            "--B junk\r\n",
        ]
        for body in malformed {
            do {
                let fields = try MultipartTargetScanner.scan(Array(body.utf8), boundary: "B", names: ["locationId"])
                Issue.record("read \(fields) from \(body)")
            } catch {
                guard case .malformed = error else {
                    Issue.record("\(body): \(error)")
                    continue
                }
            }
        }
    }
}
