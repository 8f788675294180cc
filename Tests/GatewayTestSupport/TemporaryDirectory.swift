import Foundation

/// A directory under the system temp dir, removed when the value is dropped.
package final class TemporaryDirectory: Sendable {
    package let path: String
    /// The project's root, for the shipped policy files.
    package static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    package init() {
        path = NSTemporaryDirectory() + "ghl-vault-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A policies directory at `relative` (with `clients/`) holding the shipped scopes table and overrides.
    @discardableResult
    package func policies(at relative: String = "policies") throws -> String {
        let directory = relative.isEmpty ? path : file(relative)
        try FileManager.default.createDirectory(atPath: directory + "/clients", withIntermediateDirectories: true)
        for name in ["highlevel-scopes.md", "catalog-overrides.yaml"] where !FileManager.default.fileExists(atPath: directory + "/" + name) {
            try FileManager.default.copyItem(atPath: Self.repositoryRoot + "/policies/" + name, toPath: directory + "/" + name)
        }
        return directory
    }

    /// Writes `contents` to `name` in the directory and returns its path.
    @discardableResult
    package func write(_ name: String, _ contents: String) -> String {
        let file = file(name)
        try! FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path, withIntermediateDirectories: true)
        // Written to a temporary name and renamed, as an admin's editor does: a reader never sees half a file.
        try! Data(contents.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        return file
    }

    package func file(_ name: String) -> String { path + "/" + name }

    /// Every byte of the database and its WAL, as written on disk.
    package func bytes(ofDatabase name: String) -> Data {
        [name, name + "-wal", name + "-shm"].reduce(into: Data()) { data, file in
            data.append(FileManager.default.contents(atPath: self.file(file)) ?? Data())
        }
    }
}
