/// Audit blocks' bytes as tests read them through SQL (`first_id:HEX`) and write them back, edited.
enum AuditBlockBytes {
    struct Unreadable: Error {
        var line: String
    }

    /// A block's first id and its bytes, from `first_id || ':' || hex`.
    static func parse(_ line: String) throws -> (Int64, [UInt8]) {
        let parts = line.split(separator: ":")
        guard parts.count == 2, let firstId = Int64(parts[0]), parts[1].utf8.count.isMultiple(of: 2) else { throw Unreadable(line: line) }
        let digits = Array(parts[1].utf8)
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { throw Unreadable(line: line) }
            bytes.append(byte)
        }
        return (firstId, bytes)
    }

    /// `bytes` with each occurrence of `old` replaced by `new`, in hex.
    static func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> String {
        precondition(old.utf8.count == new.utf8.count, "an edit that keeps the block's layout")
        let (old, new) = (Array(old.utf8), Array(new.utf8))
        var edited = bytes
        var index = 0
        while index + old.count <= edited.count {
            if edited[index..<index + old.count].elementsEqual(old) {
                edited.replaceSubrange(index..<index + old.count, with: new)
                index += old.count
            } else {
                index += 1
            }
        }
        return edited.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
