import Foundation

/// What each metric family means, written as `# HELP` before its `# TYPE` line (swift-metrics
/// has no place for it), and the process's own figures read from `/proc` at each scrape.
extension GatewayMetrics {
    static let help: [String: String] = [
        "ghl_gateway_audit_dropped_total": "Audit records dropped because the database fell too far behind (100,000 waiting).",
        "ghl_gateway_build_info": "This release (label version); always 1.",
        "ghl_gateway_client_key_last_used_seconds": "Unix time a client key (digest prefix) was last used.",
        "ghl_gateway_connections_closed_total": "Connections the gateway closed, by listener and reason (a limit or a timeout).",
        "ghl_gateway_connections_open": "Connections open now, by listener.",
        "ghl_gateway_installs_total": "Install attempts, by entry (gateway or marketplace) and outcome.",
        "ghl_gateway_policy_reloads_total": "Policy reloads, by outcome (applied, rejected, unchanged).",
        "ghl_gateway_policy_valid": "1 when the client policies in force are the files' current set, 0 while an edit is rejected.",
        "ghl_gateway_policy_last_success_timestamp_seconds": "Unix time the policies were last loaded or reloaded successfully.",
        "ghl_gateway_replicas_live": "Replicas sharing the vault, as this one last counted them (1 on SQLite).",
        "ghl_gateway_requests_total":
            "Proxied requests, by client, route template, decision, status and origin (gateway: the gateway refused or failed it; highlevel: HighLevel's status).",
        "ghl_gateway_request_duration_seconds":
            "Time from a request's head to the gateway's answer head, by listener, decision, the gateway's error code (- for HighLevel's answers) and status class.",
        "ghl_gateway_token_renewals_total": "Token renewals, by kind (refresh, exchange) and outcome.",
        "ghl_gateway_tokens": "Stored tokens by status (healthy, expiring, refresh_failing, needs_reinstall, revoked).",
        "ghl_gateway_upstream_budget_blocked_locations": "Locations whose HighLevel budget is exhausted now.",
        "ghl_gateway_upstream_budget_refusals_total":
            "Requests refused locally (upstream_rate_limited) to keep a location within HighLevel's limits, by client.",
        "ghl_gateway_upstream_budget_remaining": "Requests left in the current burst window, for the locations under the most pressure.",
        "ghl_gateway_upstream_daily_remaining": "Requests left today, for the locations under the most pressure.",
        "ghl_gateway_upstream_duration_seconds": "Time HighLevel took to answer a proxied request.",
        "ghl_gateway_upstream_queue_wait_seconds": "Time a request waited for its location's HighLevel budget.",
        "ghl_gateway_upstream_queued": "Requests waiting for a location's HighLevel budget now.",
        "ghl_gateway_upstream_queued_requests": "Requests waiting for HighLevel budget, for the locations under the most pressure.",
        "ghl_gateway_upstream_rate_limited_total": "HighLevel's own 429 answers.",
        "ghl_gateway_webhook_deliveries_total": "Webhook delivery attempts to subscribers, by client and outcome.",
        "ghl_gateway_webhook_delivery_seconds": "Time a subscriber took to answer a delivery.",
        "ghl_gateway_webhook_oldest_pending_seconds": "Age of the oldest pending delivery, by subscriber.",
        "ghl_gateway_webhook_pending": "Deliveries pending, by subscriber.",
        "ghl_gateway_webhook_signatures_total": "Webhooks from HighLevel verified, by signature scheme.",
        "ghl_gateway_webhooks_total": "Webhooks from HighLevel, by type and outcome.",
        "ghl_gateway_webhooks_unrouted_total": "Webhooks stored that no client subscribes to, by type.",
        "process_resident_memory_bytes": "Resident memory of the gateway process.",
        "process_cpu_seconds_total": "CPU time (user and system) the gateway process has used.",
        "process_open_fds": "Open file descriptors of the gateway process.",
        "process_start_time_seconds": "Unix time the gateway process started.",
    ]

    /// `# HELP` before every `# TYPE` line whose family has a text.
    static func withHelp(_ text: String) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.dropFirst(7).split(separator: " ").first, let help = help[String(name)] {
                lines.append("# HELP \(name) \(help)")
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The process figures Prometheus's client libraries conventionally export, from `/proc/self`.
    static func processFigures() -> [(name: String, type: String, value: Double)] {
        var figures: [(String, String, Double)] = []
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            // After "pid (comm)": utime is field 14, stime 15, starttime 22, rss 24 (1-based).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]), let start = Double(fields[19]),
                let rss = Double(fields[21])
            {
                figures.append(("process_cpu_seconds_total", "counter", (user + system) / ticks))
                figures.append(("process_resident_memory_bytes", "gauge", rss * pageSize))
                if let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8).split(separator: " ").first.flatMap({ Double($0) }) {
                    figures.append(("process_start_time_seconds", "gauge", Date().timeIntervalSince1970 - uptime + start / ticks))
                }
            }
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            figures.append(("process_open_fds", "gauge", Double(descriptors.count)))
        }
        return figures
    }
}
