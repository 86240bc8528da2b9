// swift-tools-version:6.2
import PackageDescription

// Fuzz targets (libFuzzer) for every parser of the main package, apart from it like Benchmarks/:
// a normal `swift build` of the main package never sees them. One executable, `wsfuzz`, hosts every
// target; `scripts/fuzz` builds it with `-sanitize=fuzzer,address` and runs the targets
// (docs/fuzzing.md).
let package = Package(
    name: "websockify-fuzz",
    dependencies: [
        .package(name: "websockify-swift", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        // The JWT target signs claims with the key it verifies with.
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        .executableTarget(
            name: "wsfuzz",
            dependencies: [
                .product(name: "Proxy", package: "websockify-swift"),
                .product(name: "ProxyPlugins", package: "websockify-swift"),
                .product(name: "RecordFormat", package: "websockify-swift"),
                .product(name: "RFB", package: "websockify-swift"),
                .product(name: "RFBDecoding", package: "websockify-swift"),
                .product(name: "WebSocketWire", package: "websockify-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: [
                // The entry point is `wsfuzz_main` (FuzzMain.swift), which hands libFuzzer's driver
                // the selected target; there is no top-level code.
                .unsafeFlags(["-parse-as-library"]),
                .treatAllWarnings(as: .error),
            ]
        )
    ]
)
