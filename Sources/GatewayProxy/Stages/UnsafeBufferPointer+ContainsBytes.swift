extension UnsafeBufferPointer<UInt8> {
    /// Whether `needle` occurs in these bytes, byte for byte: no Unicode or locale rules, as the
    /// stages read queries before parsing them. An empty needle occurs nowhere. The stages read a
    /// query through one buffer (`String.withUTF8`): a loop over a string's `utf8` view pays an
    /// index check per byte, and Foundation's `contains` cost a request thousands of instructions.
    func containsBytes(_ needle: String) -> Bool {
        var needle = needle
        return needle.withUTF8 { needle in
            guard let first = needle.first, needle.count <= count else { return false }
            for start in 0...(count - needle.count) where self[start] == first {
                var matched = 1
                while matched < needle.count, self[start + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return true }
            }
            return false
        }
    }
}
