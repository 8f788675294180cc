/// ASCII case folding, as HighLevel's router compares static path segments (Express routes
/// case-insensitively; a path is ASCII once canonicalized, so no other folding applies) and as
/// HTTP compares header names.
package enum ASCIICase {
    @inlinable @inline(__always)
    package static func lower(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map(lower), as: UTF8.self)
    }
}
