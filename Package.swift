// swift-tools-version:6.1
import PackageDescription

// Upcoming features the Swift server models use; `public import` marks types that leak.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The six workers: each its own executable so ops scale them independently.
let workers: [(product: String, target: String)] = [
    ("intake-extraction", "IntakeExtraction"),
    ("auto-dispatch", "AutoDispatch"),
    ("sla-timer", "SLATimer"),
    ("escalation", "Escalation"),
    ("sms-notify", "SMSNotify"),
    ("satisfaction-callback", "SatisfactionCallback"),
]

let package = Package(
    name: "hotline",
    platforms: [.macOS(.v15)],
    products: workers.map { .executable(name: $0.product, targets: [$0.target]) } + [
        .executable(name: "hotline", targets: ["HotlineAdmin"]),
        .executable(name: "hotline-bench", targets: ["HotlineBench"]),
        .library(name: "Shared", targets: ["Shared"]),
    ],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "3.12.3"),
        // Tests only: the deploy kit's tests parse docker-compose.yml, the Kubernetes manifests
        // and the Prometheus rules with a real YAML parser. No product links it.
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
    ],
    targets: [
        .target(
            name: "Shared",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatewaySimulator",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FaultSuite",
            dependencies: ["Shared", "GatewaySimulator",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HotlineAdmin",
            dependencies: ["Shared",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Admin",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HotlineBench",
            dependencies: ["Shared", "GatewaySimulator", "FaultSuite",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle")],
            path: "Sources/Bench",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntakeExtractionTests",
            dependencies: ["IntakeExtraction"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AutoDispatchTests",
            dependencies: ["AutoDispatch"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SatisfactionCallbackTests",
            dependencies: ["SatisfactionCallback"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: ["Shared",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeployKitTests",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Shared", "IntakeExtraction", "AutoDispatch", "SLATimer", "Escalation", "SatisfactionCallback", "SMSNotify",
                "GatewaySimulator", "FaultSuite", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: swiftSettings
        ),
    ] + workers.map {
        .executableTarget(
            name: $0.target,
            dependencies: ["Shared",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
                + ($0.target == "SMSNotify" ? [.product(name: "AsyncHTTPClient", package: "async-http-client"),
                                               .product(name: "Crypto", package: "swift-crypto"),
                                               .product(name: "NIOCore", package: "swift-nio"),
                                               .product(name: "NIOHTTP1", package: "swift-nio")] : []),
            path: "Sources/Workers/\($0.target)",
            // Intake trains its classifiers before it claims anything: 9 s unoptimised, 1 s
            // optimised. The demo, the tests and the fault suite run debug builds and wait for
            // that warm-up at every worker start, so this one module is optimised there too.
            swiftSettings: swiftSettings + ($0.target == "IntakeExtraction" ? [.unsafeFlags(["-O"], .when(configuration: .debug))] : [])
        )
    }
)
