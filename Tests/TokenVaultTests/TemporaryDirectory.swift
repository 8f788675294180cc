import Foundation

/// A directory under the system temp dir, removed when the value is dropped.
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "ghl-vault-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// Every byte of the database and its WAL, as written on disk.
    func bytes(ofDatabase name: String) -> Data {
        [name, name + "-wal", name + "-shm"].reduce(into: Data()) { data, file in
            data.append(FileManager.default.contents(atPath: self.file(file)) ?? Data())
        }
    }
}
