extension Sequence<UInt8> {
    /// Lower-case hex, for digests and key ids.
    var hexString: String {
        var text = ""
        for byte in self {
            for nibble in [byte >> 4, byte & 0xF] {
                text.unicodeScalars.append(Unicode.Scalar(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10))
            }
        }
        return text
    }
}
