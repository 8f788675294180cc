extension Sequence<UInt8> {
    /// Lower-case hex, for digests and key ids, written straight into the string's storage.
    var hexString: String {
        let bytes = Array(self)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { text in
            for (index, byte) in bytes.enumerated() {
                text[2 * index] = Self.hexDigit(byte >> 4)
                text[2 * index + 1] = Self.hexDigit(byte & 0xF)
            }
            return bytes.count * 2
        }
    }

    /// Appends the lower-case hex to `bytes`, for a hash that is hashed again.
    func appendHex(to bytes: inout [UInt8]) {
        for byte in self {
            bytes.append(Self.hexDigit(byte >> 4))
            bytes.append(Self.hexDigit(byte & 0xF))
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
