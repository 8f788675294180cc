import TokenVault
import Yams

extension GatewayConfiguration.Storage {
    /// `storage:`: the database, the encryption keys and the replica's name (`GHL_GATEWAY_REPLICA_ID` wins).
    init(yaml node: Node, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        let st = try parser.section(
            node, "storage",
            allowed: [
                "sqlite_path", "postgres_url", "pool_size", "encryption_key", "previous_encryption_keys", "busy_timeout_seconds",
                "replica_id",
            ], required: ["encryption_key"])
        let database: GatewayConfiguration.Storage.Database
        switch (st["sqlite_path"], st["postgres_url"]) {
        case (let path?, nil):
            database = .sqlite(path: try parser.value(path, "storage.sqlite_path", secret: false))
        case (nil, let url?):
            let text = try parser.value(url, "storage.postgres_url", secret: true)
            do {
                database = .postgres(try PostgresURL(text))
            } catch let invalid {
                throw parser.error(url, "storage.postgres_url", invalid.description)
            }
        case (_?, let url?):
            throw parser.error(url, "storage", "give sqlite_path or postgres_url, not both")
        case (nil, nil):
            throw parser.error(node, "storage", "missing sqlite_path or postgres_url")
        }
        var storage = GatewayConfiguration.Storage(
            database: database, encryptionKey: Secret(try parser.value(st["encryption_key"]!, "storage.encryption_key", secret: true)))
        try parser.checkKey(storage.encryptionKey, st["encryption_key"]!, "storage.encryption_key")
        if let node = st["previous_encryption_keys"] {
            guard let items = node.sequence else { throw parser.error(node, "storage.previous_encryption_keys", "must be a list") }
            for item in items {
                let key = Secret(try parser.value(item, "storage.previous_encryption_keys", secret: true))
                try parser.checkKey(key, item, "storage.previous_encryption_keys")
                storage.previousEncryptionKeys.append(key)
            }
        }
        if let node = st["busy_timeout_seconds"] {
            storage.busyTimeoutSeconds = try parser.number(node, "storage.busy_timeout_seconds", range: 0...600)
        }
        if let node = st["pool_size"] {
            storage.poolSize = Int(try parser.number(node, "storage.pool_size", range: 2...200))
        }
        if let node = st["replica_id"] {
            storage.replicaId = try parser.replicaId(try parser.value(node, "storage.replica_id", secret: false), node, "storage.replica_id")
        }
        if let name = parser.environment["GHL_GATEWAY_REPLICA_ID"] {
            storage.replicaId = try parser.replicaId(name, node, "GHL_GATEWAY_REPLICA_ID")
        }
        self = storage
    }
}
