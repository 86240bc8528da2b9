// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "websockify-swift",
    products: [
        .executable(name: "wsrecord-inspect", targets: ["wsrecord-inspect"]),
        .library(name: "RecordFormat", targets: ["RecordFormat"]),
        .library(name: "Proxy", targets: ["Proxy"]),
        .executable(name: "websockify", targets: ["websockify"]),
        .library(name: "Replay", targets: ["Replay"]),
        .executable(name: "wsreplay", targets: ["wsreplay"]),
        // LD_PRELOADed into a program websockify wraps (`websockify PORT -- PROGRAM`); built as
        // librebind.so next to the executables.
        .library(name: "rebind", type: .dynamic, targets: ["CRebind"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // JWT verification for the JWTTokenApi token plugin (HS256, RS256, ES256 over swift-crypto).
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        // Rules files for RFB comparisons (wsreplay/diff --rules): YAML, which reads JSON too.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Composition of websockify's parts (proxy, recorder, wrapped program) as services that shut
        // down in order on SIGTERM/SIGINT.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // System zlib (Debian: zlib1g-dev); used for block compression and CRC-32.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libdeflate (Debian: libdeflate-dev), for its CRC-32: about 3× zlib's here, and the
        // recorder computes one over every recorded byte (see docs/record-format.md §3.3).
        .systemLibrary(
            name: "CLibDeflate",
            path: "Sources/CLibDeflate",
            providers: [.apt(["libdeflate-dev"])]
        ),
        // The WebSocket vocabulary (RFC 6455): opcodes, close codes, frame headers, unmasking, UTF-8
        // checking. No dependencies; everything that reads or writes frames builds on it.
        .target(name: "WebSocketWire"),
        .testTarget(name: "WebSocketWireTests", dependencies: ["WebSocketWire", "TestSupport"]),
        // What several test targets share: a deterministic random generator.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // What the proxy's test targets share: an echo server, a collecting client, waiting.
        .target(
            name: "ProxyTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/ProxyTestSupport"
        ),
        // The session record format: model, codecs, file reader/writer and verifier, legacy interop. No
        // sockets, no tools (those are RecordTools).
        .target(name: "RecordFormat", dependencies: ["WebSocketWire", "CZlib", "CLibDeflate"]),
        // RFB (VNC) message parsing for redaction and RFB-aware comparisons. No sockets.
        .target(name: "RFB"),
        // Which RFB client differences are expected (--allow/--ignore/--rules), shared by wsreplay and
        // wsrecord-inspect diff. No sockets.
        .target(name: "RFBRules", dependencies: ["RFB", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "RFBRulesTests", dependencies: ["RFBRules", "RFB"]),
        // Tools over recordings (wsrecord-inspect's work): dump, stats and the SVG plot, editing and
        // conversion, pcapng export, diff, RFB-aware dumps and comparisons.
        .target(name: "RecordTools", dependencies: ["RecordFormat", "WebSocketWire", "RFB", "RFBRules"]),
        .executableTarget(
            name: "wsrecord-inspect",
            dependencies: [
                "RecordFormat", "RecordTools", "RFBRules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the record test targets share: temporary directories, fixtures, running the built
        // tools, sample recordings, a disk that fills up.
        .target(
            name: "RecordTestSupport", dependencies: ["RecordFormat", "WebSocketWire", "TestSupport"],
            path: "Tests/RecordTestSupport"
        ),
        .testTarget(
            name: "RecordFormatTests", dependencies: ["RecordFormat", "RecordTestSupport", "TestSupport", "WebSocketWire"]
        ),
        .testTarget(name: "RFBTests", dependencies: ["RFB", "RecordFormat"]),
        // Tests of the tools and of wsrecord-inspect's output (golden files in Golden/).
        .testTarget(
            name: "RecordToolsTests",
            dependencies: ["RecordTools", "RecordFormat", "RecordTestSupport", "WebSocketWire", "RFB", "RFBRules"],
            exclude: ["Golden"]
        ),
        // Test tool: a writer that runs until killed (crash and disk-full tests). Not a product.
        .executableTarget(name: "RecordStressWriter", dependencies: ["RecordFormat", "WebSocketWire"], path: "Tests/RecordStressWriter"),
        // Running as a service: logging to files and syslog, daemon, wrapping a program, exit
        // statuses. No sockets of the proxy's; RecordFormat only for its ISO 8601 times.
        .target(
            name: "ServiceSupport",
            dependencies: [
                "RecordFormat",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ServiceSupportTests",
            dependencies: [
                "ServiceSupport", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The WebSocket-to-TCP proxy core: listener, handshake, frames, sessions, TLS, and the points
        // where plugins attach (TargetResolver, RequestAuthenticator, WebResponder, SessionBackend).
        .target(
            name: "Proxy",
            dependencies: [
                "WebSocketWire", "RecordFormat", "RFB", "ServiceSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // websockify's token and auth plugins (TokenFile, TokenRedis, JWTTokenApi, BasicHTTPAuth, …).
        .target(
            name: "ProxyPlugins",
            dependencies: [
                "Proxy", "CFileInfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        .testTarget(
            name: "ProxyPluginsTests",
            dependencies: [
                "ProxyPlugins", "Proxy", "TestSupport", "ProxyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        // The static web server (`--web`), a WebResponder for the proxy; streams files with
        // _NIOFileSystem.
        .target(
            name: "StaticWeb",
            dependencies: [
                "Proxy", "ServiceSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "StaticWebTests",
            dependencies: [
                "StaticWeb", "Proxy", "TestSupport", "ProxyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What websockify's and wsreplay's command lines share: TLS option groups, the exit-2 main. No
        // plugins, so that wsreplay links none.
        .target(
            name: "CLISupport",
            dependencies: ["Proxy", "ServiceSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "CLISupportTests",
            dependencies: ["CLISupport", "Proxy", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // websockify's command line: options, configuration building, its parts composed as services with
        // swift-service-lifecycle.
        .target(
            name: "WebsockifyCLI",
            dependencies: [
                "CLISupport", "Proxy", "ProxyPlugins", "StaticWeb", "ServiceSupport", "RecordFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "WebsockifyCLITests",
            dependencies: [
                "WebsockifyCLI", "Proxy", "ProxyPlugins", "StaticWeb", "ServiceSupport", "RecordFormat", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // @main only: the command line, configuration and services are WebsockifyCLI's.
        .executableTarget(name: "websockify", dependencies: ["WebsockifyCLI"]),
        .testTarget(
            name: "ProxyTests",
            dependencies: [
                "Proxy", "ServiceSupport", "WebSocketWire", "RecordFormat", "TestSupport", "ProxyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Session replay: recorded sessions, pacing, client checks and the report (no sockets in the
        // engine); served through Proxy's server stack as a session backend.
        .target(
            name: "Replay",
            dependencies: [
                "Proxy", "StaticWeb", "WebSocketWire", "RecordFormat", "RFB", "RFBRules",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // wsreplay's command line: options, their checks, the replay configuration. No plugins, so that
        // wsreplay links none.
        .target(
            name: "ReplayCLI",
            dependencies: [
                "Replay", "Proxy", "StaticWeb", "ServiceSupport", "RFBRules", "CLISupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ReplayCLITests",
            dependencies: [
                "ReplayCLI", "Replay", "RFBRules", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // @main only: the command line is ReplayCLI's.
        .executableTarget(name: "wsreplay", dependencies: ["ReplayCLI"]),
        .testTarget(name: "ReplayTests", dependencies: ["Replay", "WebSocketWire", "RecordFormat", "RFB", "RFBRules"]),
        // rebind.so: moves a wrapped program's bind() of websockify's port to a loopback port. C, so
        // that it can be LD_PRELOADed into any program; nothing of ours links it.
        .target(
            name: "CRebind",
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // stat(2) for the token file reloads, with the struct kept on the C side (see its header).
        .target(name: "CFileInfo", cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]),
    ]
)

// Stricter settings for every target, in one place.
let cTargets: Set<String> = ["CRebind", "CFileInfo"]
for target in package.targets where target.type != .system && !cTargets.contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.treatAllWarnings(as: .error))
    target.swiftSettings = settings
}
