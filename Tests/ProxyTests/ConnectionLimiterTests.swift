import Logging
import MetricsTestKit
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOSSL
import Testing

@testable import Proxy

/// `--max-connections` and `--max-connections-per-ip` through the handshake handler on embedded
/// channels sharing one server: 503 with Retry-After over a limit, the slot held until the
/// connection closes however it closes, the real client behind a trusted balancer, the health path
/// exempt, refusals counted by reason.
@Suite("Connection limits in the handshake handler")
struct ConnectionLimiterTests {
    typealias Connection = HandshakeHealthTests.Connection

    let recorded = TestMetrics()

    /// A server with the limits given, a web server that keeps connections alive, and metrics.
    func server(
        total: Int?, perClient: Int?, _ configure: (inout ProxyConfiguration) throws -> Void = { _ in }
    ) throws -> ServerContext {
        var configuration = ProxyConfiguration(listenPort: 0, upstream: .fixed(.unixSocket(path: "/nowhere")))
        configuration.limits.maxConnections = total
        configuration.limits.maxConnectionsPerClient = perClient
        configuration.webResponder = HandshakeHealthTests.CountingWeb()
        configuration.metrics = ProxyMetrics(factory: recorded)
        try configure(&configuration)
        return ServerContext(configuration: configuration, logger: Logger(label: "test"), onSessionEnded: { _ in })
    }

    func limiter(_ server: ServerContext) throws -> ConnectionLimiter {
        try #require(server.connectionLimiter)
    }

    func refusals(_ reason: ProxyMetrics.RefusalReason) throws -> Int64 {
        try recorded.expectCounter(ProxyMetrics.Label.refusals, [("reason", reason.rawValue)]).totalValue
    }

    /// A web request, with `extra` header lines.
    func page(_ extra: String = "") -> String { "GET /index.html HTTP/1.1\r\nHost: x\r\n\(extra)\r\n" }
    /// A WebSocket opening handshake, with `extra` header lines.
    func upgrade(_ extra: String = "") -> String {
        "GET /websockify HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(extra)\r\n"
    }

    func close(_ connection: Connection) throws {
        try connection.channel.close().wait()
        connection.channel.embeddedEventLoop.run()
    }

    @Test("no limiter without limits")
    func noLimits() throws {
        #expect(try server(total: nil, perClient: nil).connectionLimiter == nil)
    }

    @Test("over --max-connections: 503 with Retry-After and closed; a closed connection frees its slot")
    func total() throws {
        let server = try server(total: 2, perClient: nil)
        let first = try Connection(server: server, peer: "192.0.2.1")
        let second = try Connection(server: server, peer: "192.0.2.2")
        #expect(try first.ask(page()).hasPrefix("HTTP/1.1 299"))
        #expect(try second.ask(page()).hasPrefix("HTTP/1.1 299"))
        // A second request on a kept-alive connection is the same connection: not counted again.
        #expect(try first.ask(page()).hasPrefix("HTTP/1.1 299"))
        #expect(try limiter(server).count == 2)

        let third = try Connection(server: server, peer: "192.0.2.3")
        let refused = try third.ask(upgrade())
        #expect(refused.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(refused.contains("Retry-After: 10\r\n"))
        #expect(!third.channel.isActive)
        #expect(try limiter(server).count == 2, "the refused connection holds no slot")
        #expect(try refusals(.maxConnections) == 1)

        try close(first)
        #expect(try limiter(server).count == 1)
        let fourth = try Connection(server: server, peer: "192.0.2.3")
        #expect(try fourth.ask(page()).hasPrefix("HTTP/1.1 299"))
        #expect(try limiter(server).count == 2)
        // A refused web request is logged and answered but is no session: not in the refusal series.
        let fifth = try Connection(server: server, peer: "192.0.2.4")
        #expect(try fifth.ask(page()).hasPrefix("HTTP/1.1 503"))
        #expect(try refusals(.maxConnections) == 1)
    }

    @Test("per client behind a trusted balancer: the X-Forwarded-For client is counted, not the balancer")
    func perClientBehindBalancer() throws {
        let server = try server(total: nil, perClient: 1) {
            $0.balancer.trustedProxies = [try #require(BalancerSettings.TrustedProxy("10.0.0.1"))]
        }
        func viaBalancer(_ client: String, _ request: (String) -> String) throws -> (Connection, String) {
            let connection = try Connection(server: server, peer: "10.0.0.1")
            return (connection, try connection.ask(request("X-Forwarded-For: \(client)\r\n")))
        }
        let (alice, aliceAnswer) = try viaBalancer("198.51.100.1", page)
        let (_, bobAnswer) = try viaBalancer("198.51.100.2", page)
        #expect(aliceAnswer.hasPrefix("HTTP/1.1 299"))
        #expect(bobAnswer.hasPrefix("HTTP/1.1 299"))
        let (_, again) = try viaBalancer("198.51.100.1", upgrade)
        #expect(again.hasPrefix("HTTP/1.1 503"))
        #expect(again.contains("Retry-After: 10\r\n"))
        #expect(try refusals(.maxConnectionsPerIP) == 1)
        #expect(try limiter(server).count(of: "198.51.100.1") == 1)
        #expect(try limiter(server).count(of: "10.0.0.1") == 0, "the balancer itself is not a client")

        // An untrusted peer's header is not believed: it is its own client.
        let direct = try Connection(server: server, peer: "203.0.113.9")
        #expect(try direct.ask(page("X-Forwarded-For: 198.51.100.1\r\n")).hasPrefix("HTTP/1.1 299"))
        #expect(try limiter(server).count(of: "203.0.113.9") == 1)

        try close(alice)
        let (_, afterClose) = try viaBalancer("198.51.100.1", page)
        #expect(afterClose.hasPrefix("HTTP/1.1 299"))
    }

    @Test("a refused handshake (auth) frees its slot when it closes")
    func refusedHandshake() throws {
        let server = try server(total: 1, perClient: nil) { $0.authenticator = HandshakeHealthTests.RefuseAll() }
        let refused = try Connection(server: server)
        #expect(try refused.ask(upgrade()).hasPrefix("HTTP/1.1 401"))
        refused.channel.embeddedEventLoop.run()
        #expect(!refused.channel.isActive)
        #expect(try limiter(server).count == 0)
        let next = try Connection(server: server)
        #expect(try next.ask(page()).hasPrefix("HTTP/1.1 299"))
    }

    @Test("a counted connection that fails (TLS error, reset) frees its slot")
    func failures() throws {
        let server = try server(total: 2, perClient: nil)
        let errors: [any Error] = [
            NIOSSLError.handshakeFailed(.sslError([])), IOError(errnoCode: 104, reason: "read"),
        ]
        for error in errors {
            let connection = try Connection(server: server)
            #expect(try connection.ask(page()).hasPrefix("HTTP/1.1 299"))
            #expect(try limiter(server).count == 1)
            connection.channel.pipeline.fireErrorCaught(error)
            connection.channel.embeddedEventLoop.run()
            #expect(!connection.channel.isActive)
            #expect(try limiter(server).count == 0)
        }
        // A TLS handshake that fails before any request was never counted.
        let early = try Connection(server: server)
        early.channel.pipeline.fireErrorCaught(NIOSSLError.handshakeFailed(.sslError([])))
        early.channel.embeddedEventLoop.run()
        #expect(try limiter(server).count == 0)
    }

    @Test("the health path is answered when the server is full, and is never counted")
    func healthPathExempt() throws {
        let server = try server(total: 1, perClient: 1) { $0.healthCheck = try HealthCheck(path: "/healthz") }
        let full = try Connection(server: server)
        #expect(try full.ask(page()).hasPrefix("HTTP/1.1 299"))
        let check = try Connection(server: server)
        #expect(try check.ask("GET /healthz HTTP/1.1\r\nHost: lb\r\n\r\n").hasPrefix("HTTP/1.1 200"))
        #expect(try limiter(server).count == 1)
        // The same kept-alive connection asking for more than the health path is counted then.
        #expect(try check.ask(page()).hasPrefix("HTTP/1.1 503"))
    }
}
