import Foundation
import GatewayPolicy
import GatewayRuntime
import Logging
import ScopeCatalog
import TokenVault

/// One structured line per proxied request: never a token, key, path id or Authorization value.
struct AccessLogEntry {
    var requestId: String
    var method: String
    var client: String?
    /// The route matched, once there is one.
    var route: CatalogRoute?
    var location: String?
    var company: String?
    var decision: String?
    var code: String?
    /// Why the gateway refused, when the message names only the gateway's own facts (see
    /// `GatewayError.Code.messageQuotesCaller`).
    var reason: String?
    /// The caller's W3C `traceparent`, when it sent a valid one.
    var trace: TraceParent?
    /// The exported span's own `traceparent`, for the log line (its trace and span ids).
    var exported: TraceParent?
    /// What the audit trail keeps beside the line (not logged): an MCP tool call's request, the
    /// presented key, the rule that decided, the policy set in force.
    var viaMCP = false
    var key: KeyDigest?
    var rule: PolicyRule?
    var policyRevision: String?
    var status = 0
    var upstreamStatus: Int?
    var replayed = false
    var latency: Duration = .zero

    var template: String? { route?.templateText }

    /// `GET /contacts/:contactId`, or the method alone before a route matched (the span's name, the audit row's subject).
    var routeName: String { route?.name ?? method }

    /// `latency` in milliseconds, to the microsecond (the log line, the audit trail).
    var latencyMs: Double {
        Double(latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000) / 1_000
    }

    func emit(to logger: Logger) {
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "requestId": "\(requestId)", "method": "\(method)", "status": .stringConvertible(status),
            "latencyMs": .stringConvertible(latencyMs),
        ]
        if let client { metadata["client"] = "\(client)" }
        if let template { metadata["template"] = "\(template)" }
        if let location { metadata["location"] = "\(location)" }
        if let company { metadata["company"] = "\(company)" }
        if let decision { metadata["decision"] = "\(decision)" }
        if let code { metadata["code"] = "\(code)" }
        if let reason { metadata["reason"] = "\(reason)" }
        if let trace { metadata["parentId"] = "\(trace.parentId)" }
        if let traceId = exported?.traceId ?? trace?.traceId { metadata["traceId"] = "\(traceId)" }
        if let exported { metadata["spanId"] = "\(exported.parentId)" }
        if let upstreamStatus { metadata["upstreamStatus"] = .stringConvertible(upstreamStatus) }
        if replayed { metadata["replayed"] = .stringConvertible(true) }
        logger.info("request", metadata: metadata)
    }

    /// The entry as the audit trail keeps it, made from the entry's last use: its strings are
    /// taken out of it into the record, not copied (a copy counts a reference to each, released
    /// again when the entry goes, at every request).
    consuming func auditRecord() -> AuditRecord {
        var record = AuditRecord(at: Date(), kind: viaMCP ? .mcp : .request, subject: routeName, decision: decision.take() ?? "error")
        var id = ""
        swap(&id, &requestId)
        record.requestId = id
        record.traceId = exported?.traceId ?? trace?.traceId
        record.client = client.take()
        record.keyPrefix = key?.short
        record.location = location.take()
        record.company = company.take()
        record.code = code.take()
        record.rule = rule?.cited
        record.policyRevision = policyRevision.take()
        record.upstreamStatus = upstreamStatus
        record.latencyMs = latencyMs
        return record
    }
}
