// swift-tools-version:6.2
import PackageDescription

// Benchmarks live apart from the tests: they print figures, they do not assert.
let package = Package(
    name: "websockify-benchmarks",
    dependencies: [
        .package(name: "websockify-swift", path: ".."),
        // SHA-1 for the splice probe's Sec-WebSocket-Accept (RFC 6455 §4.2.2).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        // The event loop of DeflateEcho (the same requirement as the main package's).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        // libdeflate's CRC-32 and deflate, zlib's deflate, fallocate and O_DIRECT for RecordBench's floor loop.
        .systemLibrary(name: "BenchDeflate", path: "Sources/BenchDeflate"),
        .executableTarget(
            name: "RecordBench",
            dependencies: ["BenchDeflate", .product(name: "RecordFormat", package: "websockify-swift")]
        ),
        // A measurement tool, not a product feature (issue 18 §2): a minimal WebSocket relay whose
        // target→client path is splice(2) or read/write, measured by scripts/bench-splice.
        .executableTarget(
            name: "SpliceProbe",
            dependencies: [
                "CSpliceProbe",
                .product(name: "WebSocketWire", package: "websockify-swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "CSpliceProbe", cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]),
        // A test tool (issue 18 §1): a WebSocket echo server made of the proxy's own frame parser and
        // permessage-deflate code, for the Autobahn|Testsuite, which needs an echo server.
        .executableTarget(
            name: "DeflateEcho",
            dependencies: [
                .product(name: "Proxy", package: "websockify-swift"),
                .product(name: "WebSocketWire", package: "websockify-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
