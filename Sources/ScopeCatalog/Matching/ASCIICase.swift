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

    /// Whether `text` is `lower` (written in lower case) but for ASCII case, as header names are
    /// compared. Reads both strings' bytes in place (native strings are contiguous): no copy.
    package static func equal(_ text: String, lowercased lower: String) -> Bool {
        guard text.utf8.count == lower.utf8.count else { return false }
        let inPlace = text.utf8.withContiguousStorageIfAvailable { bytes in
            lower.utf8.withContiguousStorageIfAvailable { lower in
                for index in 0..<bytes.count where ASCIICase.lower(bytes[index]) != lower[index] { return false }
                return true
            }
        }
        return inPlace.flatMap { $0 } ?? text.utf8.elementsEqual(lower.utf8) { ASCIICase.lower($0) == $1 }
    }
}
