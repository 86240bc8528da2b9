import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import ProxyTestSupport
import RecordFormat
import Testing
import WebSocketWire

/// Records every tap call, for assertions after the session.
final class EventTap: SessionTap, Sendable {
    enum Event: Equatable {
        case opened(SessionOpen)
        case frame(Direction, Opcode, Bool, [UInt8])
        case closed(SessionClose)
    }

    let events = NIOLockedValueBox<[Event]>([])

    func opened(_ open: SessionOpen) { events.withLockedValue { $0.append(.opened(open)) } }
    func frame(_ direction: Direction, opcode: Opcode, isFinal: Bool, payload: ByteBuffer) {
        events.withLockedValue { $0.append(.frame(direction, opcode, isFinal, Array(payload.readableBytesView))) }
    }
    func closed(_ close: SessionClose) { events.withLockedValue { $0.append(.closed(close)) } }
}

@Suite("Proxy server over real sockets", .serialized)
struct ProxyServerTests {
    @Test("a session reports open, every frame both ways and close totals to its tap; shutdown runs the hook")
    func tapAndShutdown() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let echo = try await startEchoServer(group: group)
        let echoPort = try #require(echo.localAddress?.port)

        let tap = EventTap()
        let hookCalled = NIOLockedValueBox(false)
        var configuration = ProxyConfiguration(
            listenHost: "127.0.0.1", listenPort: 0, upstream: .fixed(.hostPort(host: "127.0.0.1", port: echoPort)))
        configuration.sessionTapFactories = [{ (_: SessionContext) -> any SessionTap in tap }]
        configuration.shutdownHook = { hookCalled.withLockedValue { $0 = true } }
        configuration.eventLoopThreads = 1
        // A loaded test run (other suites hold the cooperative pool) may send its request late.
        configuration.timeouts.handshake = .seconds(120)
        let server = ProxyServer(configuration: configuration, logger: Logger(label: "test"), handleSignals: false)
        let running = Task { try await server.serve() }
        try await waitFor("the server to listen") { server.localPort != nil }
        let proxyPort = try #require(server.localPort)

        let (client, collector) = try await connectCollecting(group: group, port: proxyPort)
        // The request and the first frame in one write: bytes after the request must not be lost.
        var out = ByteBuffer(
            string: "GET /path?x=1 HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: binary\r\n\r\n")
        var frame = clientFrame(opcode: 2, payload: Array("hello".utf8))
        out.writeBuffer(&frame)
        try await client.writeAndFlush(out)
        // The 101 response, then the echoed frame: 0x82 0x05 "hello".
        #expect(try await collector.takeResponseHead().hasPrefix("HTTP/1.1 101"))
        try await collector.expectNext([0x82, 5] + Array("hello".utf8), "the echo")
        try await client.writeAndFlush(clientFrame(opcode: 9, payload: [7]))
        try await collector.expectNext([0x8A, 1, 7], "the pong")
        try await client.writeAndFlush(clientFrame(opcode: 8, payload: closePayload(1000)))
        try await collector.expectNext([0x88, 2, 0x03, 0xE8], "the proxy's close frame")
        try await waitFor("the proxy to close the connection") { collector.closed.withLockedValue { $0 } }
        try await waitFor("the tap's closed call") {
            tap.events.withLockedValue { if case .closed = $0.last { true } else { false } }
        }

        let events = tap.events.withLockedValue { $0 }
        guard case .opened(let open) = events.first else {
            Issue.record("first event is not opened: \(events)")
            return
        }
        #expect(open.requestPath == "/path?x=1")
        #expect(open.subprotocol == "binary")
        #expect(open.target == .hostPort("127.0.0.1:\(echoPort)"))
        #expect(open.clientAddress.hasPrefix("127.0.0.1:"))
        #expect(open.listenAddress == "127.0.0.1:\(proxyPort)")
        let frames = events.dropFirst().dropLast()
        #expect(
            Array(frames) == [
                .frame(.clientToTarget, .binary, true, Array("hello".utf8)),
                .frame(.targetToClient, .binary, true, Array("hello".utf8)),
                .frame(.clientToTarget, .ping, true, [7]),
                .frame(.targetToClient, .pong, true, [7]),
                .frame(.clientToTarget, .close, true, [0x03, 0xE8]),
                .frame(.targetToClient, .close, true, [0x03, 0xE8]),
            ])
        guard case .closed(let close) = events.last else { return }
        #expect(close.closedBy == .client)
        #expect(close.code == 1000)
        #expect(close.clientToTarget == DirectionTotals(frames: 3, bytes: 8))
        #expect(close.targetToClient == DirectionTotals(frames: 3, bytes: 8))

        server.stop()
        let reason = try await running.value
        #expect(reason == ProxyServer.StopReason.requested)
        #expect(hookCalled.withLockedValue { $0 })
        try await echo.close()
        try await group.shutdownGracefully()
    }

    @Test(
        "shutdown closes open sessions with 1001 before the hook runs, cutting those that don't answer in time",
        arguments: [
            (TimeAmount.milliseconds(200), TimeAmount.seconds(3)),  // the client's silence ends the session
            (TimeAmount.seconds(10), TimeAmount.milliseconds(200)),  // the grace period ends it
        ])
    func shutdownClosesSessions(closeHandshakeTimeout: TimeAmount, grace: TimeAmount) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let echo = try await startEchoServer(group: group)
        let echoPort = try #require(echo.localAddress?.port)
        let tap = EventTap()
        let closedBeforeHook = NIOLockedValueBox<Bool?>(nil)
        var configuration = ProxyConfiguration(
            listenHost: "127.0.0.1", listenPort: 0, upstream: .fixed(.hostPort(host: "127.0.0.1", port: echoPort)))
        configuration.sessionTapFactories = [{ (_: SessionContext) -> any SessionTap in tap }]
        configuration.timeouts.closeHandshake = closeHandshakeTimeout
        configuration.timeouts.handshake = .seconds(120)
        configuration.timeouts.shutdownGrace = grace
        configuration.shutdownHook = {
            let closed = tap.events.withLockedValue { if case .closed = $0.last { true } else { false } }
            closedBeforeHook.withLockedValue { $0 = closed }
        }
        let server = ProxyServer(configuration: configuration, logger: Logger(label: "test"), handleSignals: false)
        let running = Task { try await server.serve() }
        try await waitFor("the server to listen") { server.localPort != nil }
        let (client, collector) = try await connectCollecting(group: group, port: try #require(server.localPort))
        try await client.writeAndFlush(
            ByteBuffer(
                string: "GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
        try await waitFor("the session to open") {
            tap.events.withLockedValue { if case .opened = $0.first { true } else { false } }
        }
        server.stop()
        let reason = try await running.value
        #expect(reason == ProxyServer.StopReason.requested)
        // The client never answered the close: the proxy gave up after the close-handshake timeout.
        let bytes = collector.received.withLockedValue { $0 }
        let closeStart = try #require(bytes.lastIndex(of: 0x88))
        #expect(Array(bytes[(closeStart + 2)...(closeStart + 3)]) == [0x03, 0xE9])
        #expect(closedBeforeHook.withLockedValue { $0 } == true)
        guard case .closed(let close) = tap.events.withLockedValue({ $0.last }) else {
            Issue.record("no closed event")
            return
        }
        #expect(close.closedBy == .proxy && close.code == 1001)
        try? await client.close().get()
        try await echo.close()
        try await group.shutdownGracefully()
    }
}
