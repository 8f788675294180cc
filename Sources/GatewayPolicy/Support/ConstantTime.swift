/// Byte equality whose time depends on the lengths only, for what a caller presents against what
/// the gateway holds (key digests, the admin token's digest, a connection's last key): the time
/// taken does not tell where two values first differ.
package enum ConstantTime {
    @inlinable
    package static func equal<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
