/// What each sealed value is bound to (AES-GCM's authenticated data): its owner and column, or
/// its event, so a ciphertext copied to another row does not open. Both stores use these.
enum SealContext {
    static func access(_ owner: TokenOwner) -> String { "\(owner)/access" }
    static func refresh(_ owner: TokenOwner) -> String { "\(owner)/refresh" }
    static func webhook(_ webhookId: String) -> String { "webhook/\(webhookId)" }
    static func keyCheck(_ keyId: String) -> String { "key-check/\(keyId)" }
}
