// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The release executable is linked to keep a sidecar's resident memory small: not position-independent
/// (no 3 MB of relocations applied, and dirtied, at every start), exporting no symbols (the static
/// standard library asks for `-export-dynamic`, a 1 MB dynamic symbol table nothing here looks up), by the
/// toolchain's lld, with the functions the sidecar runs laid out first (`link-order.txt`, written by
/// `Benchmarks/link-order`), so that they share few pages, and the functions without a name in one place
/// (`link-private-functions.ld`, which also puts the toolchain's code without a section per function after
/// the rest). The last two move single functions only when every module is compiled with a section per
/// function: build with `--toolset deploy/release-toolset.json`. `link-static-libraries` holds linker
/// scripts that make `-lstdc++`, `-lz` and `-lgcc_s` take the static archives, so that no shared libraries
/// but glibc's are loaded. Idle RSS 34 -> 28 -> 22 -> 18 -> 14 MB; see README, Benchmarks. SwiftPM does
/// not see these files as inputs: after changing one, delete the binary to relink.
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xclang-linker", "-no-pie", "-Xlinker", "--no-export-dynamic",
                  "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/inference-probe/link-order.txt",
                  "-Xlinker", "--no-warn-symbol-ordering",
                  "-Xlinker", "--script=\(Context.packageDirectory)/Sources/inference-probe/link-private-functions.ld",
                  "-L", "\(Context.packageDirectory)/Sources/inference-probe/link-static-libraries"],
                 .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "inference-probe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "inference-probe", targets: ["inference-probe"]),
        .library(name: "InferenceProbe", targets: ["InferenceProbe"]),
        .library(name: "InferenceSimulator", targets: ["InferenceSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        // OTLP over HTTP only: the gRPC exporter would add grpc-swift to every build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .target(name: "CMallocTuning"),
        .target(
            name: "InferenceProbe",
            dependencies: [
                "CMallocTuning",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "InferenceSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "inference-probe",
            dependencies: [
                "InferenceProbe",
                "InferenceSimulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            exclude: ["link-order.txt", "link-private-functions.ld", "link-static-libraries"],
            swiftSettings: strict,
            linkerSettings: releaseLinking
        ),
        .executableTarget(
            name: "inference-probe-bench",
            dependencies: [
                "InferenceProbe",
                "InferenceSimulator",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "InferenceProbeTests",
            dependencies: [
                "InferenceProbe",
                "InferenceSimulator",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
