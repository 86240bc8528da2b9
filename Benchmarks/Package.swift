// swift-tools-version:6.2
import PackageDescription

// Benchmarks live apart from the tests: they print figures, they do not assert.
let package = Package(
    name: "websockify-benchmarks",
    dependencies: [
        .package(name: "websockify-swift", path: ".."),
        // SHA-1 for the splice probe's Sec-WebSocket-Accept (RFC 6455 §4.2.2).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
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
    ]
)
