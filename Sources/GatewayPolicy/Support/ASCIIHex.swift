/// Hexadecimal digits in ASCII bytes, for key hashes and percent escapes.
package enum ASCIIHex {
    /// The value of one hex digit (either case), or nil.
    package static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Lower-case hex of bytes (digests, fingerprints).
    package static func string(_ bytes: some Sequence<UInt8>) -> String {
        Array(bytes).withUnsafeBytes(string)
    }

    /// Lower-case hex of bytes, written straight into the string's storage.
    package static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { text in
            for (index, byte) in bytes.enumerated() {
                text[2 * index] = lowercaseDigit(byte >> 4)
                text[2 * index + 1] = lowercaseDigit(byte & 0xF)
            }
            return bytes.count * 2
        }
    }

    private static func lowercaseDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// The upper-case digit for a value from 0 to 15.
    package static func digit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10
    }
}
