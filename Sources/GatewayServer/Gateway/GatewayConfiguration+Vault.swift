import GatewayRuntime
import Logging
import TokenVault

extension GatewayConfiguration.Storage {
    /// The configured keys: the current one seals, the previous ones still open.
    package func keyring() throws(VaultError) -> EncryptionKeyring {
        try EncryptionKeyring(currentBase64: encryptionKey.revealed, previousBase64: previousEncryptionKeys.map(\.revealed))
    }

    /// Opens the configured store with the configured keys (the key check included).
    package func openVault(logger: Logger) async throws(VaultError) -> any TokenVault {
        let keyring = try keyring()
        switch database {
        case .sqlite(let path):
            return try await SQLiteVault.open(path: path, keyring: keyring, busyTimeout: busyTimeoutSeconds)
        case .postgres(let url):
            return try await PostgresVault.open(url: url, keyring: keyring, poolSize: poolSize, logger: logger)
        }
    }
}
