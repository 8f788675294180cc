import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TokenVault

/// HighLevel's OAuth endpoints as a typed client over one shared, pooled `HTTPClient`.
package struct HighLevelOAuthClient: Sendable {
    package struct Settings: Sendable {
        package var apiBaseURL: String
        package var clientId: String
        package var clientSecret: Secret
        /// `Version` sent to the OAuth endpoints (`2021-07-28`: v3 removed some of them).
        package var version: String
        package var timeout: TimeAmount
        /// `user_type` for the code exchange; nil leaves it out and HighLevel answers for the installer.
        package var installUserType: String?

        package init(
            apiBaseURL: String, clientId: String, clientSecret: Secret, version: String = "2021-07-28",
            timeout: TimeAmount = .seconds(15), installUserType: String? = nil
        ) {
            self.apiBaseURL = apiBaseURL.hasSuffix("/") ? String(apiBaseURL.dropLast()) : apiBaseURL
            self.clientId = clientId
            self.clientSecret = clientSecret
            self.version = version
            self.timeout = timeout
            self.installUserType = installUserType
        }
    }

    package let settings: Settings
    private let http: HTTPClient
    private static let responseLimit = 1 << 20

    package init(settings: Settings, http: HTTPClient) {
        self.settings = settings
        self.http = http
    }

    /// `POST /oauth/token` with `grant_type=authorization_code`.
    package func exchangeCode(_ code: String, redirectURI: String) async throws(OAuthError) -> TokenResponse {
        var fields = credentials + [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI)]
        if let userType = settings.installUserType { fields.append(("user_type", userType)) }
        return try TokenResponse(json: try await post("/oauth/token", form: fields, bearer: nil))
    }

    /// `POST /oauth/token` with `grant_type=refresh_token`. The refresh token is dead once this returns.
    package func refresh(_ refreshToken: Secret, userType: String) async throws(OAuthError) -> TokenResponse {
        let fields =
            credentials + [
                ("grant_type", "refresh_token"), ("refresh_token", refreshToken.revealed), ("user_type", userType),
            ]
        return try TokenResponse(json: try await post("/oauth/token", form: fields, bearer: nil))
    }

    /// `POST /oauth/locationToken`: a location's token from its company's token (needs `oauth.write`).
    package func locationToken(
        companyToken: Secret, companyId: String, locationId: String
    ) async throws(OAuthError) -> TokenResponse {
        let body = try await post(
            "/oauth/locationToken", form: [("companyId", companyId), ("locationId", locationId)], bearer: companyToken)
        return try TokenResponse(json: body)
    }

    /// `GET /oauth/installedLocations`: the locations of a company where the app is installed.
    package func installedLocations(companyToken: Secret, companyId: String, appId: String) async throws(OAuthError) -> [String] {
        let query = [("companyId", companyId), ("appId", appId), ("isInstalled", "true")]
        let data = try await send(
            method: .GET, path: "/oauth/installedLocations?" + FormEncoding.encode(query), body: nil, bearer: companyToken)
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let locations = object["locations"] as? [[String: Any]]
        else { throw .malformedResponse("installedLocations answer has no 'locations' list") }
        return locations.compactMap { ($0["_id"] ?? $0["id"]) as? String }
    }

    /// `DELETE /marketplace/app/:appId/installations`: removes the app from `installer` (a company,
    /// with every location installed through it, or one location), with the installation's own
    /// token (it needs `oauth.write`).
    package func uninstall(
        _ installer: TokenOwner, accessToken: Secret, appId: String, reason: String
    ) async throws(OAuthError) {
        var body: [String: String] = ["reason": reason]
        switch installer {
        case .company(let id): body["companyId"] = id
        case .location(let id): body["locationId"] = id
        }
        let json = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        _ = try await send(
            method: .DELETE, path: "/marketplace/app/\(FormEncoding.escape(appId))/installations",
            body: (json, "application/json"), bearer: accessToken)
    }

    private var credentials: [(String, String)] {
        [("client_id", settings.clientId), ("client_secret", settings.clientSecret.revealed)]
    }

    private func post(_ path: String, form: [(String, String)], bearer: Secret?) async throws(OAuthError) -> Data {
        try await send(
            method: .POST, path: path, body: (Data(FormEncoding.encode(form).utf8), "application/x-www-form-urlencoded"), bearer: bearer)
    }

    private func send(
        method: HTTPMethod, path: String, body: (data: Data, contentType: String)?, bearer: Secret?
    ) async throws(OAuthError) -> Data {
        var request = HTTPClientRequest(url: settings.apiBaseURL + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Version", value: settings.version)
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer.revealed)") }
        if let body {
            request.headers.add(name: "Content-Type", value: body.contentType)
            request.body = .bytes(ByteBuffer(bytes: body.data))
        }
        let status: Int
        let data: Data
        do {
            let response = try await http.execute(request, timeout: settings.timeout)
            status = Int(response.status.code)
            data = Data(try await response.body.collect(upTo: Self.responseLimit).readableBytesView)
        } catch {
            throw .transient("\(method.rawValue) \(path.prefix { $0 != "?" }): \(error)")
        }
        if (200..<300).contains(status) { return data }
        throw Self.error(status: status, body: data)
    }

    /// Maps HighLevel's error answers: `{"error": "...", "error_description": "..."}` or `{"message": ...}`.
    static func error(status: Int, body: Data) -> OAuthError {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        let code = object?["error"] as? String
        let described = (object?["error_description"] as? String) ?? (object?["message"] as? String) ?? "HTTP \(status)"
        let message = String(described.prefix(200))
        if status == 429 || status >= 500 { return .transient("HTTP \(status): \(message)") }
        switch code {
        case "invalid_grant": return .invalidGrant(message)
        case "invalid_client", "unauthorized_client": return .invalidClient(message)
        default: return .rejected(status: status, code: code, message: message)
        }
    }
}

/// `application/x-www-form-urlencoded` encoding as HighLevel's token endpoint expects it.
package enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    package static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    package static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
