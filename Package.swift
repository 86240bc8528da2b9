// swift-tools-version:6.2
import PackageDescription

// The modules, bottom layer first. A module uses only modules of lower layers; docs/architecture.md
// has the same table and Tests/e2e/test_module_layers.py checks this file against it.
//
//   0  WebSocketWire  RFB  CZlib  CLibDeflate  CTurboJPEG  CPNG  CFileInfo  CRebind
//   1  RecordFormat  RFBRules  RFBDecoding
//   2  RecordTools  ServiceSupport  RecordRender  MetricsExport
//   3  Proxy  RecordViewer
//   4  ProxyPlugins  StaticWeb
//   5  Replay  CLISupport
//   6  WebsockifyCLI  ReplayCLI
//   7  websockify  wsreplay  wsrecord-inspect

extension Target.Dependency {
    static let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
    static let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
    static let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
    static let nioConcurrencyHelpers = Target.Dependency.product(name: "NIOConcurrencyHelpers", package: "swift-nio")
    static let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
    static let nioWebSocket = Target.Dependency.product(name: "NIOWebSocket", package: "swift-nio")
    static let nioFileSystem = Target.Dependency.product(name: "_NIOFileSystem", package: "swift-nio")
    static let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
    static let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
    static let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
    static let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
    static let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
    static let jwtKit = Target.Dependency.product(name: "JWTKit", package: "jwt-kit")
    static let asyncHTTPClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
    static let yams = Target.Dependency.product(name: "Yams", package: "Yams")
    static let coreMetrics = Target.Dependency.product(name: "CoreMetrics", package: "swift-metrics")
    static let metricsTestKit = Target.Dependency.product(name: "MetricsTestKit", package: "swift-metrics")
    static let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
    static let compressNIO = Target.Dependency.product(name: "CompressNIO", package: "compress-nio")
}

let strictC: [CSetting] = [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]

// MARK: Layer 0: no module of ours below

let layer0: [Target] = [
    // The WebSocket vocabulary (RFC 6455): opcodes, close codes, frame headers, unmasking, UTF-8
    // checking. Everything that reads or writes frames builds on it.
    .target(name: "WebSocketWire"),
    // RFB (VNC) messages in both directions, parsed without sockets: redaction, dump --rfb, diff --rfb,
    // wsreplay's client checks.
    .target(name: "RFB"),
    // System zlib (Debian: zlib1g-dev); used for block compression and CRC-32.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // libdeflate (Debian: libdeflate-dev), for its CRC-32: about 3× zlib's here, and the recorder
    // computes one over every recorded byte (see docs/record-format.md §3.3).
    .systemLibrary(name: "CLibDeflate", path: "Sources/CLibDeflate", providers: [.apt(["libdeflate-dev"])]),
    // libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev): the JPEG rectangles of Tight.
    .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", providers: [.apt(["libturbojpeg0-dev"])]),
    // libpng (Debian: libpng-dev): TightPNG rectangles in, rendered frames out.
    .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    // stat(2) for FileStamp (token files and certificates followed while running), with the struct
    // kept on the C side (see its header).
    .target(name: "CFileInfo", cSettings: strictC),
    // librebind.so: moves a wrapped program's bind() of websockify's port to a loopback port. C, so
    // that it can be LD_PRELOADed into any program; nothing of ours links it.
    .target(name: "CRebind", cSettings: strictC, linkerSettings: [.linkedLibrary("dl")]),
]

// MARK: Layer 1: the record format, RFB rules

let layer1: [Target] = [
    // The session record format: model, codecs, file reader/writer and verifier, legacy interop. No
    // sockets, no tools (those are RecordTools).
    .target(name: "RecordFormat", dependencies: ["WebSocketWire", "CZlib", "CLibDeflate"]),
    // Which RFB client differences are expected (--allow/--ignore/--rules), shared by wsreplay and
    // wsrecord-inspect diff.
    .target(name: "RFBRules", dependencies: ["RFB", .yams]),
    // An RFB session's screen drawn from its recorded streams (pixel formats, Raw, CopyRect, RRE,
    // Hextile, ZRLE over one zlib stream); no sockets.
    .target(name: "RFBDecoding", dependencies: ["RFB", "CZlib", "CTurboJPEG", "CPNG"]),
]

// MARK: Layer 2: tools over recordings, running as a service

let layer2: [Target] = [
    // Tools over recordings (wsrecord-inspect's work): dump, stats and the SVG plot, editing and
    // conversion, pcapng export, diff, RFB-aware dumps and comparisons.
    .target(name: "RecordTools", dependencies: ["RecordFormat", "WebSocketWire", "RFB", "RFBRules"]),
    // Running as a service: logging to files and syslog, daemon, wrapping a program, exit statuses,
    // host:port text, noticing that a followed file changed (FileStamp: token files, certificates).
    // RecordFormat only for its ISO 8601 times.
    .target(name: "ServiceSupport", dependencies: ["RecordFormat", "CFileInfo", .logging, .nioConcurrencyHelpers]),
    // Metrics out: a Prometheus registry behind the swift-metrics API, the `/metrics` endpoint on a
    // listener of its own, the process's descriptors against its limit.
    .target(
        name: "MetricsExport",
        dependencies: [
            .coreMetrics, .prometheus, .nioCore, .nioConcurrencyHelpers, .nioPosix, .nioHTTP1, .logging,
            .serviceLifecycle,
        ]
    ),
    // A session's screen at any moment as PNG images, a contact sheet or a video through ffmpeg
    // (wsrecord-inspect render), with keyframes for fast seeking.
    .target(name: "RecordRender", dependencies: ["RecordFormat", "RFB", "RFBDecoding", "WebSocketWire", "CPNG", "CZlib"]),
]

// MARK: Layer 3: the proxy core

let layer3: [Target] = [
    // The WebSocket-to-TCP proxy: listener, handshake, frames, sessions (a state machine), TLS, and the
    // points where plugins attach (TargetResolver, RequestAuthenticator, WebResponder, SessionBackend).
    .target(
        name: "Proxy",
        dependencies: [
            "WebSocketWire", "RecordFormat", "RFB", "ServiceSupport",
            .nioCore, .nioConcurrencyHelpers, .nioPosix, .nioHTTP1, .nioSSL, .logging, .serviceLifecycle, .coreMetrics,
            .compressNIO,
        ]
    ),
]

// MARK: Layer 3: the recording viewer

let layer3Viewer: [Target] = [
    // wsrecord-inspect serve: a recording in the browser (sessions, timeline, messages, the screen
    // drawn by noVNC from the recording through a fake socket); a loopback HTTP server, GET only.
    .target(
        name: "RecordViewer",
        dependencies: [
            "RecordTools", "RecordFormat", "RFB", "RFBDecoding", "CZlib", .nioCore, .nioConcurrencyHelpers, .nioPosix,
            .nioHTTP1,
        ],
        resources: [.embedInCode("Page/viewer.html"), .embedInCode("Page/viewer.js"), .embedInCode("Page/viewer.css")]
    ),
]

// MARK: Layer 4: what plugs into the proxy

let layer4: [Target] = [
    // websockify's token and auth plugins (TokenFile, TokenRedis, JWTTokenApi, BasicHTTPAuth, …).
    .target(
        name: "ProxyPlugins",
        dependencies: [
            "Proxy", "ServiceSupport", .nioCore, .nioConcurrencyHelpers, .nioPosix, .nioHTTP1, .nioSSL, .logging, .jwtKit,
            .asyncHTTPClient,
        ]
    ),
    // The static web server (`--web`), a WebResponder for the proxy; streams files with _NIOFileSystem.
    .target(
        name: "StaticWeb",
        dependencies: ["Proxy", "ServiceSupport", .nioCore, .nioHTTP1, .nioPosix, .nioFileSystem, .logging]
    ),
]

// MARK: Layer 5: replay, what both command lines share

let layer5: [Target] = [
    // Session replay: recorded sessions, pacing, client checks and the report (no sockets in the
    // engine); served through the proxy core as a session backend. No plugins.
    .target(
        name: "Replay",
        dependencies: [
            "Proxy", "StaticWeb", "WebSocketWire", "RecordFormat", "RFB", "RFBRules",
            .nioCore, .nioConcurrencyHelpers, .logging, .coreMetrics,
        ]
    ),
    // What websockify's and wsreplay's command lines share: TLS option groups, the exit-2 main. No
    // plugins, so that wsreplay links none.
    .target(name: "CLISupport", dependencies: ["Proxy", "ServiceSupport", "MetricsExport", .argumentParser, .logging]),
]

// MARK: Layer 6: the servers' command lines

let layer6: [Target] = [
    // websockify's command line: options, configuration building, its parts composed as services with
    // swift-service-lifecycle.
    .target(
        name: "WebsockifyCLI",
        dependencies: [
            "CLISupport", "Proxy", "ProxyPlugins", "StaticWeb", "ServiceSupport", "RecordFormat", "MetricsExport",
            .argumentParser, .logging, .nioCore, .nioConcurrencyHelpers, .serviceLifecycle, .unixSignals,
        ]
    ),
    // wsreplay's command line: options, their checks, the replay configuration.
    .target(
        name: "ReplayCLI",
        dependencies: [
            "Replay", "Proxy", "StaticWeb", "ServiceSupport", "RFBRules", "RecordFormat", "CLISupport", "MetricsExport", .argumentParser,
            .logging,
        ]
    ),
]

// MARK: Layer 7: executables

let layer7: [Target] = [
    // @main only: the command line, configuration and services are WebsockifyCLI's.
    .executableTarget(name: "websockify", dependencies: ["WebsockifyCLI"]),
    // @main only: the command line is ReplayCLI's.
    .executableTarget(name: "wsreplay", dependencies: ["ReplayCLI"]),
    // Its subcommands map flags onto RecordTools; tested by running it (golden files, e2e).
    .executableTarget(
        name: "wsrecord-inspect",
        dependencies: [
            "RecordFormat", "RecordTools", "RFBRules", "RecordRender", "RFBDecoding", "RecordViewer", .argumentParser,
        ]
    ),
]

// MARK: Tests: one target per module, and what they share

let testSupport: [Target] = [
    // A deterministic random generator, temporary directories.
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    // What the proxy's test targets share: an echo server, a collecting client, waiting.
    .target(
        name: "ProxyTestSupport", dependencies: [.nioCore, .nioConcurrencyHelpers, .nioPosix],
        path: "Tests/ProxyTestSupport"
    ),
    // What the record test targets share: fixtures, running the built tools, sample recordings, a
    // disk that fills up.
    .target(
        name: "RecordTestSupport", dependencies: ["RecordFormat", "WebSocketWire", "TestSupport"],
        path: "Tests/RecordTestSupport"
    ),
    // A writer that runs until killed (crash and disk-full tests). Not a product.
    .executableTarget(
        name: "RecordStressWriter", dependencies: ["RecordFormat", "WebSocketWire"], path: "Tests/RecordStressWriter"
    ),
    // Decodes a logged RFB session (both directions) into a PPM image, for the x11vnc decoder test
    // (Tests/e2e/test_rfb_decoder.py). Not a product.
    .executableTarget(name: "RFBDecodeTool", dependencies: ["RFBDecoding", "RFB"], path: "Tests/RFBDecodeTool"),
]

let tests: [Target] = [
    .testTarget(name: "WebSocketWireTests", dependencies: ["WebSocketWire", "TestSupport"]),
    .testTarget(name: "RFBTests", dependencies: ["RFB", "RecordFormat"]),
    .testTarget(name: "RecordFormatTests", dependencies: ["RecordFormat", "RecordTestSupport", "TestSupport", "WebSocketWire"]),
    .testTarget(name: "RFBRulesTests", dependencies: ["RFBRules", "RFB"]),
    .testTarget(name: "RFBDecodingTests", dependencies: ["RFBDecoding", "RFB", "CZlib", "CTurboJPEG", "CPNG"]),
    // The tools and wsrecord-inspect's output (golden files in Golden/).
    .testTarget(
        name: "RecordToolsTests",
        dependencies: ["RecordTools", "RecordFormat", "RecordTestSupport", "WebSocketWire", "RFB", "RFBRules"],
        exclude: ["Golden"]
    ),
    .testTarget(
        name: "RecordRenderTests",
        dependencies: ["RecordRender", "RFBDecoding", "RecordFormat", "RecordTestSupport", "TestSupport", "WebSocketWire", "CPNG"]
    ),
    .testTarget(
        name: "RecordViewerTests",
        dependencies: ["RecordViewer", "RecordFormat", "RecordTestSupport", "TestSupport", "RFB", "RFBDecoding", "WebSocketWire"]
    ),
    .testTarget(name: "ServiceSupportTests", dependencies: ["ServiceSupport", "TestSupport", .logging, .nioConcurrencyHelpers]),
    .testTarget(
        name: "MetricsExportTests",
        dependencies: ["MetricsExport", "ProxyTestSupport", .coreMetrics, .nioCore, .nioConcurrencyHelpers, .nioPosix, .logging]
    ),
    .testTarget(
        name: "ProxyTests",
        dependencies: [
            "Proxy", "ServiceSupport", "WebSocketWire", "RecordFormat", "TestSupport", "ProxyTestSupport",
            .nioCore, .nioConcurrencyHelpers, .nioPosix, .nioEmbedded, .logging, .nioHTTP1, .nioWebSocket, .nioSSL,
            .metricsTestKit, .compressNIO,
        ]
    ),
    .testTarget(
        name: "ProxyPluginsTests",
        dependencies: [
            "ProxyPlugins", "Proxy", "TestSupport", "ProxyTestSupport",
            .nioCore, .nioPosix, .nioHTTP1, .nioSSL, .logging, .jwtKit, .nioConcurrencyHelpers,
        ]
    ),
    .testTarget(
        name: "StaticWebTests",
        dependencies: ["StaticWeb", "Proxy", "TestSupport", "ProxyTestSupport", .nioCore, .nioPosix, .nioHTTP1, .logging]
    ),
    .testTarget(name: "ReplayTests", dependencies: ["Replay", "WebSocketWire", "RecordFormat", "RFB", "RFBRules"]),
    .testTarget(name: "CLISupportTests", dependencies: ["CLISupport", "Proxy", .argumentParser]),
    .testTarget(
        name: "WebsockifyCLITests",
        dependencies: [
            "WebsockifyCLI", "Proxy", "ProxyPlugins", "StaticWeb", "ServiceSupport", "RecordFormat", "TestSupport",
            .argumentParser, .logging, .nioCore, .nioConcurrencyHelpers, .serviceLifecycle,
        ]
    ),
    .testTarget(name: "ReplayCLITests", dependencies: ["ReplayCLI", "Replay", "RFBRules", "TestSupport", .argumentParser]),
]

let package = Package(
    name: "websockify-swift",
    products: [
        .executable(name: "websockify", targets: ["websockify"]),
        .executable(name: "wsreplay", targets: ["wsreplay"]),
        .executable(name: "wsrecord-inspect", targets: ["wsrecord-inspect"]),
        .library(name: "RecordFormat", targets: ["RecordFormat"]),
        .library(name: "Proxy", targets: ["Proxy"]),
        .library(name: "Replay", targets: ["Replay"]),
        // The parsers the fuzz targets drive (Fuzz/Package.swift, docs/fuzzing.md).
        .library(name: "WebSocketWire", targets: ["WebSocketWire"]),
        .library(name: "RFB", targets: ["RFB"]),
        .library(name: "RFBDecoding", targets: ["RFBDecoding"]),
        .library(name: "ProxyPlugins", targets: ["ProxyPlugins"]),
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
        // The HTTP client of the BaseTokenAPI/JSONTokenApi token plugins (timeouts, redirects, TLS, a
        // connection pool); ProxyPlugins only, so wsreplay does not link it.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Rules files for RFB comparisons (wsreplay/diff --rules): YAML, which reads JSON too.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Composition of websockify's parts (proxy, recorder, wrapped program) as services that shut
        // down in order on SIGTERM/SIGINT.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Metrics (`--metrics-listen`): the swift-metrics API where things are counted, a Prometheus
        // registry and its text format where they are served.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // permessage-deflate (RFC 7692) toward the browser: raw deflate streams with window control
        // over the system zlib; small (NIOCore only).
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: layer0 + layer1 + layer2 + layer3 + layer3Viewer + layer4 + layer5 + layer6 + layer7 + testSupport + tests
)

// Stricter settings for every Swift target, in one place.
for target in package.targets where target.type != .system && !["CRebind", "CFileInfo"].contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.treatAllWarnings(as: .error))
    target.swiftSettings = settings
}
