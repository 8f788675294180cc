import Foundation

/// A result row of either store, read by column name, so both stores turn rows into values the
/// same way (`VaultRow+Values`). A missing or NULL column reads as nil.
protocol VaultRow {
    func text(_ column: String) -> String?
    func real(_ column: String) -> Double?
    func integer(_ column: String) -> Int?
    func blob(_ column: String) -> Data?
}

extension VaultRow {
    func date(_ column: String) -> Date? {
        real(column).map(Date.init(timeIntervalSince1970:))
    }

    func words(_ column: String) -> [String] {
        (text(column) ?? "").split(separator: " ").map(String.init)
    }
}
