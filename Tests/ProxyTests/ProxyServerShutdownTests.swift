import Logging
import NIOCore
import NIOPosix
import Proxy
import ProxyTestSupport
import Testing

/// The shutdown steps over real sockets: the lame duck (503 on the health path, new sessions still
/// taken), the drain (listener closed, sessions running), 1001 when it ends or is hurried.
@Suite("Proxy server shutdown: lame duck and drain", .serialized)
struct ProxyServerShutdownTests {
    static let upgrade =
        "GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + "Sec-WebSocket-Protocol: binary\r\n\r\n"

    /// A proxy to an echo server with a health path and the given shutdown times.
    struct Running {
        let group: MultiThreadedEventLoopGroup
        let echo: any Channel
        let server: ProxyServer
        let task: Task<ProxyServer.StopReason, any Error>
        let port: Int

        init(lameDuck: TimeAmount, drain: TimeAmount) async throws {
            group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            echo = try await startEchoServer(group: group)
            var configuration = ProxyConfiguration(
                listenHost: "127.0.0.1", listenPort: 0,
                upstream: .fixed(.hostPort(host: "127.0.0.1", port: try #require(echo.localAddress?.port))))
            configuration.healthCheck = try HealthCheck(path: "/healthz")
            configuration.timeouts.lameDuck = lameDuck
            configuration.timeouts.drain = drain
            configuration.timeouts.handshake = .seconds(120)
            configuration.timeouts.closeHandshake = .milliseconds(200)
            configuration.eventLoopThreads = 1
            let server = ProxyServer(configuration: configuration, logger: Logger(label: "test"), handleSignals: false)
            self.server = server
            task = Task { try await server.serve() }
            try await waitFor("the server to listen") { server.localPort != nil }
            port = try #require(server.localPort)
        }

        /// A WebSocket session through the proxy, checked with one echoed frame.
        func session(_ text: String) async throws -> (any Channel, CollectHandler) {
            let (client, collector) = try await connectCollecting(group: group, port: port)
            try await client.writeAndFlush(ByteBuffer(string: ProxyServerShutdownTests.upgrade))
            #expect(try await collector.takeResponseHead().hasPrefix("HTTP/1.1 101"))
            try await echo(text, on: client, collector)
            return (client, collector)
        }

        func echo(_ text: String, on client: any Channel, _ collector: CollectHandler) async throws {
            try await client.writeAndFlush(clientFrame(opcode: 2, payload: Array(text.utf8)))
            try await collector.expectNext([0x82, UInt8(text.utf8.count)] + Array(text.utf8), "the echo of \(text)")
        }

        /// The health path's status line, on a new connection.
        func health() async throws -> String {
            let (client, collector) = try await connectCollecting(group: group, port: port)
            try await client.writeAndFlush(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: lb\r\n\r\n"))
            let head = try await collector.takeResponseHead()
            try? await client.close()
            // "\r\n" is one Character.
            return String(head.prefix { $0 != "\r\n" })
        }

        /// Whether a new TCP connection is refused (the listener is closed).
        func refused() async -> Bool {
            guard let client = try? await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get() else {
                return true
            }
            try? await client.close()
            return false
        }

        /// Polls (up to 120 s: a loaded machine) until a new connection is refused; whether it was.
        func listenerClosed() async throws -> Bool {
            for _ in 0..<12000 {
                if await refused() { return true }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            return false
        }

        func finish() async throws {
            try await echo.close()
            try await group.shutdownGracefully()
        }
    }

    /// Waits for the close frame the proxy sends on shutdown: 1001 and its reason.
    func expectGoingAway(_ collector: CollectHandler) async throws {
        let reason = Array("server shutting down".utf8)
        try await collector.expectNext([0x88, UInt8(2 + reason.count), 0x03, 0xE9] + reason, "a close frame with 1001")
    }

    @Test("lame duck: the health path says 503 at once, new sessions are still taken, open ones go on; hurry closes with 1001")
    func lameDuck() async throws {
        // Long enough that only hurry() ends it: the test never races the timer.
        let running = try await Running(lameDuck: .seconds(600), drain: .seconds(600))
        #expect(try await running.health() == "HTTP/1.1 200 OK")
        let (old, oldBytes) = try await running.session("before")
        running.server.stop()
        // stop() returns before the server moved on: poll (a new connection each time) until it did.
        var status = try await running.health()
        for _ in 0..<12000 where status != "HTTP/1.1 503 Service Unavailable" {
            try await Task.sleep(nanoseconds: 10_000_000)
            status = try await running.health()
        }
        #expect(status == "HTTP/1.1 503 Service Unavailable")
        // Still accepting: a session a balancer routed here before its next check succeeds.
        let (new, newBytes) = try await running.session("during the lame duck")
        try await running.echo("still", on: old, oldBytes)
        #expect(await !running.refused())
        // A second stop signal: the listener closes and both sessions are sent 1001 now.
        running.server.hurry()
        try await expectGoingAway(oldBytes)
        try await expectGoingAway(newBytes)
        #expect(try await running.task.value == .requested)
        #expect(await running.refused())
        try? await old.close()
        try? await new.close()
        try await running.finish()
    }

    @Test("drain: after the lame duck the listener closes, open sessions keep running until hurried, then 1001")
    func drain() async throws {
        let running = try await Running(lameDuck: .milliseconds(100), drain: .seconds(600))
        let (session, bytes) = try await running.session("before")
        running.server.stop()
        #expect(try await running.listenerClosed(), "the listener closes once the lame duck is over")
        // Draining: the session is not told anything and still relays.
        try await running.echo("while draining", on: session, bytes)
        running.server.hurry()
        try await expectGoingAway(bytes)
        #expect(try await running.task.value == .requested)
        try? await session.close()
        try await running.finish()
    }

    @Test("drain: a session that ends on its own ends the shutdown; no 1001 is sent")
    func drainEndsWithTheLastSession() async throws {
        let running = try await Running(lameDuck: .zero, drain: .seconds(600))
        let (session, bytes) = try await running.session("before")
        running.server.stop()
        #expect(try await running.listenerClosed())
        try await running.echo("while draining", on: session, bytes)
        // The client leaves (close 1000): the proxy answers it, and with no session left it stops.
        try await session.writeAndFlush(clientFrame(opcode: 8, payload: [0x03, 0xE8]))
        try await bytes.expectNext([0x88, 0x02, 0x03, 0xE8], "the answer to the client's close")
        #expect(try await running.task.value == .requested)
        try? await session.close()
        try await running.finish()
    }
}
