// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ghl-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ghl-gateway", targets: ["ghl-gateway"]),
        .executable(name: "ghl-bench", targets: ["ghl-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // OTLP/HTTP only: the gRPC exporter's dependencies would cost minutes per build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.2.0"),
    ],
    targets: [
        .target(name: "ScopeCatalog"),
        .executableTarget(name: "ShippedCatalogEmbedder"),
        .plugin(name: "EmbedShippedCatalog", capability: .buildTool(), dependencies: ["ShippedCatalogEmbedder"]),
        .target(name: "ShippedCatalog", plugins: ["EmbedShippedCatalog"]),
        .target(
            name: "GatewayPolicy",
            dependencies: [
                "ScopeCatalog",
                "ShippedCatalog",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TokenVault",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "HighLevelSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "HighLevelOAuth",
            dependencies: [
                "TokenVault",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The gateway in three layers, each using only those before it (ARCHITECTURE.md): the
        // runtime's parts, the proxied exchange over them, and the listeners and their assembly.
        .target(
            name: "GatewayRuntime",
            dependencies: [
                "ScopeCatalog",
                "GatewayPolicy",
                "ShippedCatalog",
                "TokenVault",
                "HighLevelOAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "GatewayProxy",
            dependencies: [
                "GatewayRuntime",
                "ShippedCatalog",
                "ScopeCatalog",
                "GatewayPolicy",
                "TokenVault",
                "HighLevelOAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "GatewayServer",
            dependencies: [
                "GatewayRuntime",
                "GatewayProxy",
                "ScopeCatalog",
                "GatewayPolicy",
                "TokenVault",
                "HighLevelOAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "GatewaySandbox",
            dependencies: [
                "GatewayServer",
                "GatewayRuntime",
                "GatewayPolicy",
                "TokenVault",
                "HighLevelSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "ghl-gateway",
            dependencies: [
                "ScopeCatalog",
                "GatewayPolicy",
                "TokenVault",
                "HighLevelOAuth",
                "GatewayServer",
                "GatewayRuntime",
                "GatewayProxy",
                "GatewaySandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ghl-bench",
            dependencies: [
                "ScopeCatalog",
                "GatewayPolicy",
                "GatewayServer",
                "GatewayRuntime",
                "GatewayProxy",
                "GatewaySandbox",
                "TokenVault",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ghl-bench"
        ),
        .testTarget(name: "ScopeCatalogTests", dependencies: ["ScopeCatalog"]),
        .testTarget(name: "GatewayPolicyTests", dependencies: ["GatewayPolicy", "ScopeCatalog", "HighLevelSimulator"]),
        .target(
            name: "GatewayTestSupport",
            dependencies: [
                "GatewayServer",
                "GatewayRuntime",
                "GatewaySandbox",
                .product(name: "Hummingbird", package: "hummingbird"),
                "GatewayPolicy",
                "HighLevelSimulator",
                "TokenVault",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/GatewayTestSupport"
        ),
        .testTarget(
            name: "TokenVaultTests",
            dependencies: [
                "TokenVault",
                "GatewayTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "HighLevelOAuthTests",
            dependencies: [
                "GatewayTestSupport",
                "HighLevelOAuth",
                "HighLevelSimulator",
                "TokenVault",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "GatewayRuntimeTests",
            dependencies: [
                "GatewayPolicy",
                "GatewayProxy",
                "GatewayRuntime",
                "GatewayServer",
                "GatewayTestSupport",
                "HighLevelSimulator",
                "TokenVault",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "GatewayProxyTests",
            dependencies: [
                "GatewayPolicy",
                "GatewayProxy",
                "GatewayRuntime",
                "GatewaySandbox",
                "GatewayServer",
                "GatewayTestSupport",
                "HighLevelOAuth",
                "HighLevelSimulator",
                "ScopeCatalog",
                "TokenVault",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GatewayServerTests",
            dependencies: [
                "GatewayPolicy",
                "GatewayRuntime",
                "GatewayServer",
                "GatewayTestSupport",
                "HighLevelSimulator",
                "TokenVault",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "GatewayPolicy",
                "GatewaySandbox",
                "GatewayRuntime",
                "GatewayTestSupport",
                "HighLevelSimulator",
                "TokenVault",
                "ghl-gateway",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GatewayCLITests",
            dependencies: [
                "ghl-gateway",
                "GatewayTestSupport",
                "GatewayPolicy",
                "HighLevelSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The fuzz targets (`scripts/fuzz.sh`): one libFuzzer binary over every parser, built only when
// GHL_FUZZ is set (with -sanitize=fuzzer, in its own build folder), never by `swift build`.
if Context.environment["GHL_FUZZ"] != nil {
    // A build tool cannot link with -sanitize=fuzzer, so the fuzz build goes without the built-in
    // catalog (ShippedCatalog+None.swift); the fuzz targets read the catalog's files themselves.
    if let shipped = package.targets.first(where: { $0.name == "ShippedCatalog" }) {
        shipped.plugins = []
        shipped.swiftSettings = [.define("SHIPPED_CATALOG_NONE")]
    }
    package.products.append(.executable(name: "ghl-fuzz", targets: ["ghl-fuzz"]))
    package.targets.append(
        .executableTarget(
            name: "ghl-fuzz",
            dependencies: [
                "ScopeCatalog", "GatewayPolicy", "GatewayRuntime", "GatewayProxy", "GatewayServer",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Fuzz/Sources",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ))
}
