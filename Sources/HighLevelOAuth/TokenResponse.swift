import Foundation
import TokenVault

/// A token response from `/oauth/token` or `/oauth/locationToken`, in HighLevel's v2 (snake_case)
/// or v3 (camelCase) field names.
package struct TokenResponse: Sendable {
    package var accessToken: Secret
    package var refreshToken: Secret?
    package var expiresIn: Int
    package var scopes: [String]
    /// `Company` or `Location`.
    package var userType: String?
    package var companyId: String?
    package var locationId: String?
    package var userId: String?
    package var planId: String?
    package var isBulkInstallation: Bool
    package var approvedLocations: [String]

    /// Parses a JSON body; throws `malformedResponse` (without echoing the body, which holds secrets).
    package init(json data: Data) throws(OAuthError) {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .malformedResponse("token response is not a JSON object")
        }
        func string(_ names: String...) -> String? {
            for name in names {
                if let value = object[name] as? String, !value.isEmpty { return value }
            }
            return nil
        }
        guard let access = string("access_token", "accessToken") else {
            throw .malformedResponse("token response has no access_token")
        }
        let expires = (object["expires_in"] ?? object["expiresIn"]).flatMap { value -> Int? in
            if let number = value as? NSNumber { return number.intValue }
            if let text = value as? String { return Int(text) }
            return nil
        }
        guard let expires, expires > 0 else { throw .malformedResponse("token response has no valid expires_in") }
        accessToken = Secret(access)
        refreshToken = string("refresh_token", "refreshToken").map(Secret.init)
        expiresIn = expires
        scopes = (string("scope", "scopes") ?? "").split(separator: " ").map(String.init)
        userType = string("userType", "user_type")
        companyId = string("companyId", "company_id")
        locationId = string("locationId", "location_id")
        userId = string("userId", "user_id")
        planId = string("planId", "plan_id")
        isBulkInstallation = (object["isBulkInstallation"] as? Bool) ?? false
        approvedLocations = (object["approvedLocations"] as? [String]) ?? []
    }

    /// The pair as the vault stores it.
    package func grant(origin: TokenOrigin, now: Date = Date()) -> TokenGrant {
        TokenGrant(
            accessToken: accessToken, refreshToken: refreshToken, scopes: scopes,
            expiresAt: now.addingTimeInterval(TimeInterval(expiresIn)), origin: origin)
    }
}
