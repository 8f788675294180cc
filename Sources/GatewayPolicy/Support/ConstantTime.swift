/// Byte equality whose time depends on the lengths only, for what a caller presents against what
/// the gateway holds (key digests, the admin token's digest, a connection's last key): the time
/// taken does not tell where two values first differ.
///
/// Not generic on purpose: a generic comparison called from another module runs unspecialised,
/// through witness tables and metadata look-ups for every byte (once 40 % of a proxied request's
/// instructions, `bench/instructions.sh`). These overloads compare contiguous bytes.
package enum ConstantTime {
    package static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    package static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { a in b.withUnsafeBytes { b in equal(a, b) } }
    }

    /// The two strings' UTF-8 bytes (native strings are contiguous; others are copied first).
    package static func equal(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { a in b.withUTF8 { b in equal(UnsafeRawBufferPointer(a), UnsafeRawBufferPointer(b)) } }
    }
}
