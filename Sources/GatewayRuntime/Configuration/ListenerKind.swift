/// The gateway's three listeners: the configuration's `listen.<kind>` and `limits.connections.<kind>`
/// keys, a label on their metrics and the name in their log lines.
package enum ListenerKind: String, Sendable, CaseIterable {
    case proxy, `public`, admin
}
