extension String {
    /// Whether `needle` occurs in this string, byte for byte: no Unicode or locale rules, as the
    /// stages read queries before parsing them (Foundation's `contains` cost a request thousands
    /// of instructions). An empty needle occurs nowhere.
    func containsBytes(_ needle: String) -> Bool {
        let haystack = utf8
        let needle = needle.utf8
        guard let first = needle.first, needle.count <= haystack.count else { return false }
        var start = haystack.startIndex
        while let found = haystack[start...].firstIndex(of: first) {
            if haystack[found...].starts(with: needle) { return true }
            start = haystack.index(after: found)
        }
        return false
    }
}
