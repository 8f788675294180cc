/// Whose HighLevel token this is: an agency (Company) or a sub-account (Location).
package enum TokenOwner: Sendable, Hashable, Comparable, CustomStringConvertible {
    case company(String)
    case location(String)

    package init?(kind: String, id: String) {
        switch kind {
        case "company": self = .company(id)
        case "location": self = .location(id)
        default: return nil
        }
    }

    package var kind: String {
        switch self {
        case .company: "company"
        case .location: "location"
        }
    }

    package var id: String {
        switch self {
        case .company(let id), .location(let id): id
        }
    }

    /// HighLevel's `user_type` for this owner's tokens.
    package var userType: String {
        switch self {
        case .company: "Company"
        case .location: "Location"
        }
    }

    package var description: String { "\(kind):\(id)" }
}
