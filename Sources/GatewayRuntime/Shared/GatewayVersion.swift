/// This release's version, written in this one place: `ghl-gateway --version`, the start-up log
/// and `ghl_gateway_build_info` read it, CHANGELOG.md's newest entry names it, and the container
/// image is tagged with it (docs/deployment.md, "Releases").
package enum GatewayVersion {
    package static let current = "0.9.0"
}
