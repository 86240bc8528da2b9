import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import ProxyTestSupport
import RecordFormat
import Testing

/// The proxy behind a balancer, over real sockets: the PROXY protocol header and forwarded headers
/// decide the client address its sessions are opened with; connections without a valid header
/// are closed.
@Suite("Proxy server behind a balancer", .serialized)
struct ProxyProtocolServerTests {
    static let upgrade =
        "GET /b HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

    /// Runs a proxy with `balancer` in front of an echo server, sends `writes` one by one from a
    /// client, and returns the session's open record (nil when none opened), what the client
    /// received and the client's own address.
    func session(
        _ balancer: BalancerSettings, writes: [[UInt8]], handshakeTimeout: TimeAmount = .seconds(120),
        expectClose: Bool = false
    ) async throws -> (open: SessionOpen?, received: [UInt8], client: String) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let echo = try await startEchoServer(group: group)
        let tap = EventTap()
        var configuration = ProxyConfiguration(
            listenHost: "127.0.0.1", listenPort: 0,
            upstream: .fixed(.hostPort(host: "127.0.0.1", port: try #require(echo.localAddress?.port))))
        configuration.sessionTapFactories = [{ (_: SessionContext) -> any SessionTap in tap }]
        configuration.eventLoopThreads = 1
        configuration.timeouts.handshake = handshakeTimeout
        configuration.balancer = balancer
        let server = ProxyServer(configuration: configuration, logger: Logger(label: "test"), handleSignals: false)
        let running = Task { try await server.serve() }
        try await waitFor("the server to listen") { server.localPort != nil }
        let (client, collector) = try await connectCollecting(group: group, port: try #require(server.localPort))
        let clientPort = try #require(client.localAddress?.port)
        for bytes in writes {
            try await client.writeAndFlush(ByteBuffer(bytes: bytes))
        }
        if expectClose {
            try await waitFor("the proxy to close the connection") { collector.closed.withLockedValue { $0 } }
        } else {
            #expect(try await collector.takeResponseHead().hasPrefix("HTTP/1.1 101"))
            try await waitFor("the session to open") {
                tap.events.withLockedValue { if case .opened = $0.first { true } else { false } }
            }
        }
        let open = tap.events.withLockedValue { events -> SessionOpen? in
            if case .opened(let open) = events.first { open } else { nil }
        }
        // Already closed when the proxy closed it.
        try? await client.close()
        server.stop()
        _ = try await running.value
        try await echo.close()
        try await group.shutdownGracefully()
        return (open, collector.received.withLockedValue { $0 }, "127.0.0.1:\(clientPort)")
    }

    var proxyProtocol: BalancerSettings {
        var settings = BalancerSettings()
        settings.proxyProtocol = true
        return settings
    }

    @Test("version 1 before the request: the session's client is the header's source, the balancer is kept as via")
    func version1() async throws {
        let request = Array(("PROXY TCP4 203.0.113.7 127.0.0.1 51000 6080\r\n" + Self.upgrade + "\r\n").utf8)
        let result = try await session(proxyProtocol, writes: [request])
        let open = try #require(result.open)
        #expect(open.clientAddress == "203.0.113.7:51000")
        #expect(open.viaAddress == result.client)
    }

    @Test("version 2 arriving a byte at a time, then the request: IPv6 source")
    func version2Split() async throws {
        let source: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x07]
        let header = proxyV2(familyTransport: 0x21, block: source + source + [0xC3, 0x50, 0x17, 0xC0])
        let writes = header.map { [$0] } + [Array((Self.upgrade + "\r\n").utf8)]
        let result = try await session(proxyProtocol, writes: writes)
        let open = try #require(result.open)
        #expect(open.clientAddress == "[2001:db8::7]:50000")
        #expect(open.viaAddress == result.client)
    }

    @Test("LOCAL (a balancer's health check) keeps the connection's own address, and no via")
    func local() async throws {
        let result = try await session(
            proxyProtocol, writes: [proxyV2(command: 0, familyTransport: 0, block: []) + Array((Self.upgrade + "\r\n").utf8)])
        let open = try #require(result.open)
        #expect(open.clientAddress == result.client)
        #expect(open.viaAddress == nil)
    }

    @Test("without a header the connection is closed unanswered; a request is not taken for one")
    func missingHeader() async throws {
        let result = try await session(proxyProtocol, writes: [Array((Self.upgrade + "\r\n").utf8)], expectClose: true)
        #expect(result.open == nil)
        #expect(result.received.isEmpty)
    }

    @Test("a header that never ends is cut by the handshake timeout")
    func slowHeader() async throws {
        let started = NIODeadline.now()
        let result = try await session(
            proxyProtocol, writes: [Array("PROXY TCP4 203.0.113.7 ".utf8)], handshakeTimeout: .milliseconds(300),
            expectClose: true)
        #expect(result.open == nil)
        #expect(NIODeadline.now() - started >= .milliseconds(300))
    }

    @Test("X-Forwarded-For from a trusted peer names the client; from any other peer it is ignored")
    func forwardedFor() async throws {
        let request = Array((Self.upgrade + "X-Forwarded-For: 6.6.6.6, 203.0.113.9\r\n\r\n").utf8)
        var trusted = BalancerSettings()
        trusted.trustedProxies = [try #require(BalancerSettings.TrustedProxy("127.0.0.1/32"))]
        let believed = try await session(trusted, writes: [request])
        #expect(believed.open?.clientAddress == "203.0.113.9")
        #expect(believed.open?.viaAddress == believed.client)

        var other = BalancerSettings()
        other.trustedProxies = [try #require(BalancerSettings.TrustedProxy("10.0.0.0/8"))]
        for settings in [BalancerSettings(), other] {
            let ignored = try await session(settings, writes: [request])
            #expect(ignored.open?.clientAddress == ignored.client)
            #expect(ignored.open?.viaAddress == nil)
        }
    }
}
