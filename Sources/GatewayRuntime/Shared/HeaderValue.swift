/// Values the gateway itself puts into headers to HighLevel (a token HighLevel issued, the
/// configured API version): visible ASCII only, so none can end a header line. The connections to
/// HighLevel do not validate every header again on each write; whatever else they carry was read
/// by NIO's parser, which refuses such bytes.
enum HeaderValue {
    static func isPlain(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }
}
