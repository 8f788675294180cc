/// Which kind of HighLevel token a route takes: a location's (Sub-Account) or a company's (Agency).
///
/// The `-Only` kinds come from the OpenAPI specifications (`Location-Access-Only`,
/// `Agency-Access-Only`): HighLevel then accepts only an OAuth token of that user type, not a
/// Private Integration Token. They are kept distinct so the token picker and every explanation
/// can show and honour them.
package enum AccessType: String, CaseIterable, Sendable, Codable, Comparable {
    case subAccount = "Sub-Account"
    case agency = "Agency"
    case subAccountOnly = "Sub-Account-Only"
    case agencyOnly = "Agency-Only"

    /// Whose token serves the route.
    package enum TokenKind: Sendable, Hashable {
        case location, company
    }

    package var tokenKind: TokenKind {
        switch self {
        case .subAccount, .subAccountOnly: .location
        case .agency, .agencyOnly: .company
        }
    }

    /// The names accepted in the table's Access Type column and in overrides.
    package static let expectedNames = allCases.map(\.rawValue).joined(separator: ", ")

    /// Declaration order: Sub-Account before Agency, as the table lists them.
    package static func < (lhs: AccessType, rhs: AccessType) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

extension AccessType {
    /// What OpenAPI requirements naming `named` kinds (and `bearer`, when `anyKind`) allow. The
    /// requirements are alternatives: a plain kind admits what its `-Only` form does, and `bearer`
    /// alone admits either kind.
    static func alternatives(_ named: some Sequence<AccessType>, anyKind: Bool) -> [AccessType] {
        var set = Set(named)
        if set.contains(.subAccount) { set.remove(.subAccountOnly) }
        if set.contains(.agency) { set.remove(.agencyOnly) }
        if set.isEmpty, anyKind { return [.subAccount, .agency] }
        return set.sorted()
    }
}

extension Collection where Element == AccessType {
    /// The token kinds these access types allow.
    package var tokenKinds: Set<AccessType.TokenKind> { Set(map(\.tokenKind)) }
}
