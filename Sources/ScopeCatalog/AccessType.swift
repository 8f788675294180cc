/// Which kind of HighLevel token a route takes: a location's (Sub-Account) or a company's (Agency).
package enum AccessType: String, CaseIterable, Sendable, Codable, Comparable {
    case subAccount = "Sub-Account"
    case agency = "Agency"

    /// Declaration order: Sub-Account before Agency, as the table lists them.
    package static func < (lhs: AccessType, rhs: AccessType) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
