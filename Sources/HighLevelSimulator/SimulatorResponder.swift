import AsyncHTTPClient
import Foundation
import Hummingbird

/// Answers HighLevel's OAuth endpoints and, for any other path, checks the bearer token,
/// records the call and answers JSON — strict where HighLevel is strict.
struct SimulatorResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let state: SimulatorState
    /// Request bodies of API calls up to this size are kept in `RecordedCall.body`.
    static let recordedBodyLimit = 1 << 20

    func respond(to request: Request, context: Context) async throws -> Response {
        switch (request.method, request.uri.path) {
        case (.get, "/oauth/chooselocation"), (.get, "/v2/oauth/chooselocation"):
            return await chooseLocation(request)
        case (.post, "/oauth/token"):
            return try await token(request)
        case (.post, "/oauth/locationToken"), (.post, "/oauth/location-token"):
            return try await locationToken(request)
        case (.get, "/oauth/installedLocations"), (.get, "/oauth/installed-locations"):
            return await installedLocations(request)
        case (.get, let path) where path.hasPrefix("/apps/") && path.hasSuffix("/install"):
            return await marketplaceInstall(appId: String(path.dropFirst("/apps/".count).dropLast("/install".count)))
        case (.post, "/sim/webhooks/send"):
            return await sendWebhook(request)
        case (.delete, let path) where path.hasPrefix("/marketplace/app/") && path.hasSuffix("/installations"):
            return try await uninstall(request, appId: String(path.dropFirst("/marketplace/app/".count).dropLast("/installations".count)))
        default:
            return try await apiCall(request)
        }
    }

    // MARK: Install

    private func chooseLocation(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        let configuration = await state.configuration
        guard query["response_type"] == "code" else { return Self.json(400, ["error": "unsupported_response_type"]) }
        guard let clientId = query["client_id"], String(clientId) == configuration.clientId else {
            return Self.json(400, ["error": "invalid_client", "error_description": "unknown client_id"])
        }
        guard let redirect = query["redirect_uri"].map(String.init), URLComponents(string: redirect)?.scheme != nil else {
            return Self.json(400, ["error": "invalid_request", "error_description": "redirect_uri is required"])
        }
        if let registered = configuration.registeredRedirectURI, registered != redirect {
            return Self.json(400, ["error": "invalid_request", "error_description": "redirect_uri is not registered for this app"])
        }
        let scopes = (query["scope"].map(String.init) ?? "")
            .replacingOccurrences(of: "+", with: " ")
            .split(separator: " ").map(String.init)
        return await consent(redirectURI: redirect, scopes: scopes, state: query["state"].map(String.init))
    }

    /// The Install button of the app's marketplace listing (or the developer portal's installation
    /// link): consent with the listing's scopes, then the registered redirect URL with a code and
    /// no state, as HighLevel does it.
    private func marketplaceInstall(appId: String) async -> Response {
        let configuration = await state.configuration
        guard appId == configuration.appId else { return Self.json(404, ["statusCode": 404, "message": "App not found"]) }
        guard let redirect = configuration.registeredRedirectURI else {
            return Self.json(400, ["statusCode": 400, "message": "The app has no redirect URL registered"])
        }
        return await consent(redirectURI: redirect, scopes: configuration.listingScopes, state: nil)
    }

    /// The installer consents: a single-use code, and the browser sent back to `redirectURI`.
    private func consent(redirectURI: String, scopes: [String], state stateValue: String?) async -> Response {
        let code = await state.issueCode(redirectURI: redirectURI, scopes: scopes)
        var target = URLComponents(string: redirectURI) ?? URLComponents()
        var items = target.queryItems ?? []
        items.append(URLQueryItem(name: "code", value: code))
        if let stateValue { items.append(URLQueryItem(name: "state", value: stateValue)) }
        target.queryItems = items
        return Response(status: .found, headers: [.location: target.string ?? redirectURI])
    }

    /// `DELETE /marketplace/app/:appId/installations`: the installation's own token (with
    /// `oauth.write`) removes the app from its company (and the company's locations) or location.
    private func uninstall(_ request: Request, appId: String) async throws -> Response {
        guard let issued = await bearer(request) else { return Self.json(401, ["statusCode": 401, "message": "Invalid JWT"]) }
        guard issued.scopes.contains("oauth.write") else {
            return Self.json(401, ["statusCode": 401, "message": "The token is not authorized for this scope."])
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        let fields = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
        guard appId == (await state.configuration).appId else {
            return Self.json(400, ["statusCode": 400, "message": "appId does not match the token"])
        }
        let owner: SimulatedOwner
        switch issued.owner {
        case .company(let id) where fields["companyId"] as? String == id: owner = .company(id)
        case .location(let id) where fields["locationId"] as? String == id: owner = .location(id)
        default: return Self.json(422, ["statusCode": 422, "message": "companyId or locationId must match the token"])
        }
        await state.uninstall(owner)
        return Self.json(200, ["success": true])
    }

    // MARK: Webhooks

    /// Sends one event to the app's webhook URL as HighLevel does: JSON with `type`, `appId`,
    /// `locationId`, `webhookId`, `timestamp`, signed over the exact bytes (`x-ghl-signature`).
    /// `?type=ContactCreate&locationId=...`; answers with the gateway's status.
    private func sendWebhook(_ request: Request) async -> Response {
        let configuration = await state.configuration
        guard let url = configuration.webhookURL else { return Self.json(400, ["message": "no webhook URL configured"]) }
        let query = request.uri.queryParameters
        let event: [String: Any] = [
            "type": query["type"].map(String.init) ?? "ContactCreate", "appId": configuration.appId,
            "locationId": query["locationId"].map(String.init) ?? "locSim0001", "webhookId": UUID().uuidString,
            "timestamp": ISO8601DateFormatter().string(from: Date()), "id": "contactSim\(Int.random(in: 1000...9999))",
            "email": "ada@example.com", "firstName": "Ada",
        ]
        let body = (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data()
        let signature = (try? configuration.webhookSigningKey.signature(for: body).base64EncodedString()) ?? ""
        var outgoing = HTTPClientRequest(url: url)
        outgoing.method = .POST
        outgoing.headers.add(name: "Content-Type", value: "application/json")
        outgoing.headers.add(name: "x-ghl-signature", value: signature)
        outgoing.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await HTTPClient.shared.execute(outgoing, timeout: .seconds(10))
            let answer = try await response.body.collect(upTo: 1 << 16)
            return Self.json(200, ["sent": event["type"] ?? "", "gatewayStatus": Int(response.status.code), "gatewayAnswer": String(buffer: answer)])
        } catch {
            return Self.json(502, ["message": "the webhook could not be sent: \(error)"])
        }
    }

    // MARK: Tokens

    private func token(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        let configuration = await state.configuration
        guard form["client_id"] == configuration.clientId, form["client_secret"] == configuration.clientSecret else {
            return Self.json(401, ["error": "invalid_client", "error_description": "Invalid client credentials"])
        }
        switch form["grant_type"] {
        case "authorization_code":
            await state.countCodeExchange()
            if let status = await state.nextCodeExchangeFault() {
                return Self.json(status, ["error": "server_error", "error_description": "simulated failure"])
            }
            guard let code = form["code"], let redirect = form["redirect_uri"],
                let grant = await state.redeemCode(code, redirectURI: redirect)
            else {
                return Self.json(400, ["error": "invalid_grant", "error_description": "Invalid authorization code"])
            }
            return await codeResponse(grant, configuration)
        case "refresh_token":
            switch await state.refresh(form["refresh_token"] ?? "") {
            case .rotated(let owner, let scopes, let access, let refresh):
                var body = tokenBody(access: access, refresh: refresh, scopes: scopes, configuration)
                body.merge(Self.ownerFields(owner, configuration)) { $1 }
                return Self.json(200, body)
            case .fault(.status(let status)):
                return Self.json(status, ["error": "server_error", "error_description": "simulated failure"])
            case .fault(.invalidGrant), .invalidGrant:
                return Self.json(400, ["error": "invalid_grant", "error_description": "Invalid grant: refresh token is invalid"])
            }
        default:
            return Self.json(400, ["error": "unsupported_grant_type"])
        }
    }

    private func codeResponse(_ grant: SimulatorState.CodeGrant, _ configuration: SimulatorConfiguration) async -> Response {
        switch configuration.installer {
        case .company(let companyId, let locations):
            let pair = await state.issuePair(owner: .company(companyId), scopes: grant.scopes)
            var body = tokenBody(access: pair.access, refresh: pair.refresh, scopes: grant.scopes, configuration)
            body.merge(Self.ownerFields(.company(companyId), configuration)) { $1 }
            body["isBulkInstallation"] = true
            if configuration.listsApprovedLocations { body["approvedLocations"] = locations }
            return Self.json(200, body)
        case .location(let companyId, let locationId):
            let pair = await state.issuePair(owner: .location(locationId), scopes: grant.scopes)
            var body = tokenBody(access: pair.access, refresh: pair.refresh, scopes: grant.scopes, configuration)
            body.merge(Self.ownerFields(.location(locationId), configuration)) { $1 }
            body["companyId"] = companyId
            return Self.json(200, body)
        }
    }

    private func locationToken(_ request: Request) async throws -> Response {
        await state.receiveExchange()
        guard let issued = await bearer(request), case .company(let companyId) = issued.owner else {
            return Self.json(401, ["statusCode": 401, "message": "Invalid JWT"])
        }
        guard issued.scopes.contains("oauth.write") else {
            return Self.json(401, ["statusCode": 401, "message": "The token is not authorized for this scope."])
        }
        let form = try await Self.form(request)
        guard form["companyId"] == companyId, let locationId = form["locationId"],
            await state.installedLocations(companyId: companyId).contains(locationId)
        else {
            return Self.json(400, ["statusCode": 400, "message": "Location not found or app not installed"])
        }
        let configuration = await state.configuration
        let scopes = issued.scopes.filter { !$0.hasPrefix("oauth.") }
        let pair = await state.issuePair(
            owner: .location(locationId), scopes: scopes, withRefresh: configuration.locationTokensHaveRefreshToken)
        var body = tokenBody(access: pair.access, refresh: pair.refresh, scopes: scopes, configuration)
        body.merge(Self.ownerFields(.location(locationId), configuration)) { $1 }
        body["companyId"] = companyId
        return Self.json(200, body)
    }

    private func installedLocations(_ request: Request) async -> Response {
        guard let issued = await bearer(request), case .company(let companyId) = issued.owner else {
            return Self.json(401, ["statusCode": 401, "message": "Invalid JWT"])
        }
        guard issued.scopes.contains("oauth.readonly") || issued.scopes.contains("oauth.write") else {
            return Self.json(401, ["statusCode": 401, "message": "The token is not authorized for this scope."])
        }
        guard request.uri.queryParameters["companyId"].map(String.init) == companyId else {
            return Self.json(400, ["statusCode": 400, "message": "companyId does not match the token"])
        }
        let locations = await state.installedLocations(companyId: companyId)
            .map { ["_id": $0, "name": "Location \($0)", "isInstalled": true] as [String: Any] }
        return Self.json(200, ["locations": locations, "count": locations.count])
    }

    // MARK: API

    private func apiCall(_ request: Request) async throws -> Response {
        guard let (token, issued) = await bearerWithToken(request) else {
            await state.countRejectedCall()
            return Self.json(401, ["statusCode": 401, "message": "Invalid JWT"])
        }
        let admission = await state.admitCall()
        if let delay = admission.delay { try await Task.sleep(for: delay) }
        if admission.rejected { return Self.json(401, ["statusCode": 401, "message": "Invalid JWT"]) }
        let limited = await state.rateLimit(issued.owner)
        guard limited.allowed else {
            var response = Self.json(429, ["statusCode": 429, "message": "Too many requests"])
            for (name, value) in limited.headers { response.headers[HTTPFields.Element.Name(name)!] = value }
            return response
        }
        var bytes = 0
        var kept = Data()
        for try await chunk in request.body {
            bytes += chunk.readableBytes
            if kept.count < Self.recordedBodyLimit { kept.append(contentsOf: chunk.readableBytesView.prefix(Self.recordedBodyLimit - kept.count)) }
        }
        let call = RecordedCall(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query, owner: issued.owner,
            accessToken: token, version: request.headers[.init("Version")!],
            headers: request.headers.map { ($0.name.rawName, $0.value) }, bodyBytes: bytes, body: kept)
        await state.record(call)
        switch await state.nextCallFault() {
        case .status(let status, let headers):
            var response = Self.json(status, ["statusCode": status, "message": "simulated failure"])
            for (name, value) in headers { response.headers[HTTPFields.Element.Name(name)!] = value }
            return response
        case .resetMidBody(let after):
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(contentLength: after + 10_000) { writer in
                    try await writer.write(ByteBuffer(repeating: UInt8(ascii: "x"), count: after))
                    throw CancellationError()
                })
        case .slowStream(let chunks, let every):
            return Response(
                status: .ok, headers: [.contentType: "text/plain"],
                body: ResponseBody(contentLength: chunks) { writer in
                    for _ in 0..<chunks {
                        try await Task.sleep(for: every)
                        try await writer.write(ByteBuffer(string: "x"))
                    }
                    try await writer.finish(nil)
                })
        case nil:
            break
        }
        if request.uri.queryParameters["sim_status"] == "204" {
            return Response(status: .noContent)
        }
        if let size = request.uri.queryParameters["sim_response_bytes"].flatMap({ Int($0) }) {
            return Self.bytes(size, framed: request.uri.queryParameters["sim_unframed"] == nil)
        }
        var response = Self.json(
            200,
            [
                "ok": true, "owner": issued.owner.description, "method": call.method, "path": call.path,
                "query": call.query ?? "", "receivedBytes": bytes,
            ])
        for (name, value) in limited.headers { response.headers[HTTPFields.Element.Name(name)!] = value }
        return response
    }

    // MARK: Helpers

    private func bearer(_ request: Request) async -> SimulatorState.Issued? {
        await bearerWithToken(request)?.1
    }

    private func bearerWithToken(_ request: Request) async -> (String, SimulatorState.Issued)? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        let token = String(header.dropFirst("Bearer ".count))
        guard let issued = await state.validAccess(token) else { return nil }
        return (token, issued)
    }

    private func tokenBody(
        access: String, refresh: String?, scopes: [String], _ configuration: SimulatorConfiguration
    ) -> [String: Any] {
        var body: [String: Any] = [
            "access_token": access, "token_type": "Bearer", "expires_in": configuration.accessTokenLifetime,
            "scope": scopes.joined(separator: " "), "userId": "usrSim0001", "planId": "planSim",
        ]
        if let refresh { body["refresh_token"] = refresh }
        return body
    }

    private static func ownerFields(_ owner: SimulatedOwner, _ configuration: SimulatorConfiguration) -> [String: Any] {
        switch owner {
        case .company(let id): ["userType": "Company", "companyId": id]
        case .location(let id):
            ["userType": "Location", "locationId": id, "companyId": Self.companyId(of: configuration.installer)]
        }
    }

    private static func companyId(of installer: SimulatorConfiguration.Installer) -> String {
        switch installer {
        case .company(let id, _), .location(let id, _): id
        }
    }

    /// A body of `size` bytes, streamed in 64 KiB chunks (for download tests), with a
    /// `Content-Length` when `framed`, else chunked.
    static func bytes(_ size: Int, framed: Bool = true) -> Response {
        let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream"],
            body: ResponseBody(contentLength: framed ? size : nil) { writer in
                var left = size
                while left > 0 {
                    let count = min(left, chunk.readableBytes)
                    try await writer.write(chunk.getSlice(at: 0, length: count)!)
                    left -= count
                }
                try await writer.finish(nil)
            })
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Decodes an `application/x-www-form-urlencoded` body (HighLevel rejects JSON here).
    static func form(_ request: Request) async throws -> [String: String] {
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else { return [:] }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
