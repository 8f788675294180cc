import Crypto
import Foundation
import Testing

@testable import GatewayPolicy

@Suite("Constant-time comparisons and hex")
struct ConstantTimeTests {
    @Test("Strings and byte arrays are equal only when every byte is")
    func equality() {
        let key = "Bearer ghlgw_" + String(repeating: "k", count: 43)
        var last = Array(key.utf8)
        last[last.count - 1] ^= 1
        #expect(ConstantTime.equal(key, String(decoding: Array(key.utf8), as: UTF8.self)))
        #expect(!ConstantTime.equal(key, String(decoding: last, as: UTF8.self)))
        #expect(!ConstantTime.equal(key, String(key.dropLast())))
        #expect(ConstantTime.equal("", ""))
        #expect(!ConstantTime.equal("é", "e\u{301}"))
        #expect(ConstantTime.equal(Array(key.utf8), Array(key.utf8)))
        #expect(!ConstantTime.equal(Array(key.utf8), last))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
    }

    @Test("Hex is lower-case, two digits a byte, and a key's short digest is its description's first 12 digits")
    func hex() {
        let bytes: [UInt8] = [0x00, 0x0f, 0x10, 0xab, 0xff]
        #expect(ASCIIHex.string(bytes) == "000f10abff")
        #expect(ASCIIHex.string([UInt8]()) == "")
        let digest = KeyDigest(key: "ghlgw_example")
        let expected = SHA256.hash(data: Data("ghlgw_example".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(digest.description == "sha256:" + expected)
        #expect(digest.short == "sha256:" + expected.prefix(12))
        #expect(KeyDigest(policyValue: digest.description) == digest)
        #expect(KeyDigest(policyValue: digest.description)?.short == digest.short)
    }
}
