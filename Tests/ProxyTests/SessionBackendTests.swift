import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy
import ProxyTestSupport
import RecordFormat
import Testing

/// A backend that answers each client payload upper-cased and closes with 4000 on "quit".
final class ShoutingBackend: SessionBackend {
    let ended: NIOLockedValueBox<SessionClose?>
    private var driver: SessionDriver?

    init(ended: NIOLockedValueBox<SessionClose?>) { self.ended = ended }

    func start(_ driver: SessionDriver) {
        self.driver = driver
        driver.send(ByteBuffer(string: "HI"))
        driver.flush()
    }

    func clientData(_ bytes: ByteBuffer) {
        let text = String(buffer: bytes)
        if text == "quit" {
            driver?.close(code: 4000, reason: "bye")
        } else {
            driver?.send(ByteBuffer(string: text.uppercased()))
            driver?.flush()
        }
    }

    func clientWritabilityChanged(isWritable: Bool) {}

    func ended(_ close: SessionClose) { ended.withLockedValue { $0 = close } }
}

struct ShoutingProvider: SessionBackendProvider {
    let ended = NIOLockedValueBox<SessionClose?>(nil)
    func subprotocolPreference() -> [String] { ["base64", "binary"] }
    func makeBackend(_ info: SessionBackendInfo) -> any SessionBackend { ShoutingBackend(ended: ended) }
}

struct SessionBackendTests {
    @Test("a session backend drives the session after the proxy's handshake, with its subprotocol choice")
    func backendDrivesSession() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let provider = ShoutingProvider()
        var configuration = ProxyConfiguration(
            listenHost: "127.0.0.1", listenPort: 0, upstream: .backend(provider))
        configuration.eventLoopThreads = 1
        // A loaded test run (other suites hold the cooperative pool) may send its request late.
        configuration.timeouts.handshake = .seconds(120)
        // Likewise its answer to the backend's close: after the default 2 s the proxy drops the
        // connection and the test's own close frame fails with "I/O on closed channel" (seen in CI).
        configuration.timeouts.closeHandshake = .seconds(120)
        let server = ProxyServer(configuration: configuration, logger: Logger(label: "test"), handleSignals: false)
        let running = Task { try await server.run() }
        try await waitFor("the server to listen") { server.localPort != nil }
        let (client, collector) = try await connectCollecting(group: group, port: try #require(server.localPort))
        try await client.writeAndFlush(
            ByteBuffer(
                string: "GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Protocol: binary, base64\r\n\r\n"))
        let head = try await collector.takeResponseHead()
        #expect(head.contains("Sec-WebSocket-Protocol: base64"))
        // base64 was preferred: "HI" arrives as the text frame "SEk=".
        try await collector.expectNext([0x81, 4] + Array("SEk=".utf8), "the greeting")
        try await client.writeAndFlush(clientFrame(opcode: 1, payload: Array("aGV5".utf8)))  // "hey"
        try await collector.expectNext([0x81, 4] + Array("SEVZ".utf8), "the answer")  // "HEY"
        try await client.writeAndFlush(clientFrame(opcode: 1, payload: Array("cXVpdA==".utf8)))  // "quit"
        try await collector.expectNext([0x88, 5, 0x0F, 0xA0] + Array("bye".utf8), "the backend's close")
        try await client.writeAndFlush(clientFrame(opcode: 8, payload: closePayload(4000)))
        try await waitFor("the session to end") { provider.ended.withLockedValue { $0 != nil } }
        let ended = try #require(provider.ended.withLockedValue { $0 })
        #expect(ended.closedBy == .target)
        #expect(ended.code == 4000)
        server.stop()
        _ = try await running.value
        try? await client.close()
        try await group.shutdownGracefully()
    }
}
