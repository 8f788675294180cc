import Crypto
import Foundation

/// The AES-256-GCM keys that protect tokens at rest: one current key that seals, and older keys
/// that still open what they sealed, so keys rotate without a migration. Every ciphertext names
/// its key id and is bound to the row and column it belongs to.
package struct EncryptionKeyring: Sendable {
    package struct Key: Sendable {
        package let id: String
        fileprivate let key: SymmetricKey
    }

    package let current: Key
    package let previous: [Key]

    private static let format: UInt8 = 1

    /// Keys as configured: base64 of exactly 32 bytes each.
    package init(currentBase64: String, previousBase64: [String] = []) throws(VaultError) {
        let current = try Self.key(fromBase64: currentBase64)
        var older: [Key] = []
        for text in previousBase64 { older.append(try Self.key(fromBase64: text)) }
        self.current = current
        previous = older.filter { $0.id != current.id }
    }

    /// A fresh random key, base64, for `keys` tooling and the sandbox.
    package static func generateKeyBase64() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    package var keyIds: [String] { [current.id] + previous.map(\.id) }

    /// Seals `plaintext` under the current key; `context` (e.g. `location:abc/access`) is authenticated
    /// so a ciphertext copied to another row does not open.
    package func seal(_ plaintext: String, context: String) throws(VaultError) -> Data {
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(Data(plaintext.utf8), using: current.key, authenticating: Data(context.utf8))
        } catch {
            throw .database("encryption failed: \(error)")
        }
        let id = Data(current.id.utf8)
        return Data([Self.format, UInt8(id.count)]) + id + box.combined!
    }

    package func open(_ blob: Data, context: String) throws(VaultError) -> String {
        guard let (keyId, sealed) = Self.split(blob) else { throw .decryptionFailed(context: context) }
        guard let key = ([current] + previous).first(where: { $0.id == keyId }) else {
            throw .unknownKeys(found: [keyId], configured: keyIds)
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let plain = try AES.GCM.open(box, using: key.key, authenticating: Data(context.utf8))
            guard let text = String(data: plain, encoding: .utf8) else { throw VaultError.decryptionFailed(context: context) }
            return text
        } catch {
            throw .decryptionFailed(context: context)
        }
    }

    private static func split(_ blob: Data) -> (keyId: String, sealed: Data)? {
        let bytes = [UInt8](blob)
        guard bytes.count > 2, bytes[0] == format else { return nil }
        let length = Int(bytes[1])
        guard bytes.count > 2 + length else { return nil }
        let id = String(decoding: bytes[2..<(2 + length)], as: UTF8.self)
        return (id, Data(bytes[(2 + length)...]))
    }

    private static func key(fromBase64 text: String) throws(VaultError) -> Key {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw .invalidKey("not base64")
        }
        guard data.count == 32 else { throw .invalidKey("\(data.count) bytes, expected 32 (AES-256)") }
        var hasher = SHA256()
        hasher.update(data: Data("ghl-gateway key id v1".utf8))
        hasher.update(data: data)
        let id = hasher.finalize().prefix(4).hexString
        return Key(id: id, key: SymmetricKey(data: data))
    }
}
