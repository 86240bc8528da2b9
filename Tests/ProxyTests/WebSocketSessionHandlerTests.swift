import NIOCore
import NIOEmbedded
import RecordFormat
import Testing
import WebSocketWire

@testable import Proxy

/// A frame as the proxy sends it to the client: final, unmasked, payload under 126 bytes.
private func serverFrame(_ opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
    [0x80 | opcode, UInt8(payload.count)] + payload
}

private func serverClose(_ code: UInt16, _ reason: String) -> [UInt8] {
    serverFrame(8, closePayload(code, Array(reason.utf8)))
}

/// The session handler on `EmbeddedChannel`s: what goes over both connections, in which order, and
/// when each side is read, shut and closed — every close path, the drain, timers and the backend.
@Suite("Session handler, without sockets")
struct WebSocketSessionHandlerTests {
    // MARK: Relaying

    @Test("relays payloads both ways, answers pings, and in base64 mode sends target bytes as base64 text")
    func relays() throws {
        let session = try SessionHarness()
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("hello".utf8)))
        try session.client.writeInbound(clientFrame(opcode: 9, payload: [7]))
        #expect(try session.takeOutbound(session.target) == Array("hello".utf8))
        try session.target.writeInbound(ByteBuffer(string: "world"))
        #expect(try session.takeOutbound(session.client) == serverFrame(10, [7]) + serverFrame(2, Array("world".utf8)))
        try session.end()

        let base64 = try SessionHarness(mode: .base64)
        try base64.target.writeInbound(ByteBuffer(string: "hi"))
        #expect(try base64.takeOutbound(base64.client) == serverFrame(1, Array("aGk=".utf8)))
        try base64.client.writeInbound(clientFrame(opcode: 1, payload: Array("aGk=".utf8)))
        #expect(try base64.takeOutbound(base64.target) == Array("hi".utf8))
        try base64.end()
    }

    @Test("client bytes sent before the target is up wait, then go once it connects")
    func bytesBeforeTarget() throws {
        let session = try SessionHarness(connect: .later, initialBytes: clientFrame(opcode: 2, payload: [1, 2]))
        try session.client.writeInbound(clientFrame(opcode: 2, payload: [3]))
        #expect(try session.takeOutbound(session.target) == [])
        #expect(session.clientReads.reads == 0, "the client is not read before the target is up")
        session.connectTarget()
        #expect(try session.takeOutbound(session.target) == [1, 2, 3])
        #expect(session.clientReads.reads == 1)
        try session.end()
    }

    // MARK: Close paths

    @Test("client closes: its code is echoed, the target closed, our output shut, and what follows is read and dropped")
    func clientCloses() throws {
        let session = try SessionHarness()
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("hi".utf8)))
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(4000, Array("done".utf8))))
        #expect(try session.takeOutbound(session.target) == Array("hi".utf8), "delivered before the target closes")
        #expect(!session.target.isActive, "the target is closed once what was written is sent")
        #expect(try session.takeOutbound(session.client) == serverFrame(8, closePayload(4000)), "echo: the code, no reason")
        #expect(session.clientOutput.outputShut, "our side of TCP is shut once the close frame is out")
        #expect(session.client.isActive, "the client gets to close first (RFC 6455 §7.1.1)")

        // Draining: the client is still read, and what it sends goes nowhere.
        let reads = session.clientReads.reads
        try session.client.writeInbound(ByteBuffer(bytes: [0xFF, 0x00, 0x13]))
        #expect(session.clientReads.reads == reads + 1, "draining keeps reading")
        #expect(try session.takeOutbound(session.client) == [])
        #expect(session.observer.closed == nil)

        try session.client.close().wait()
        let closed = try #require(session.observer.closed)
        #expect(closed.closedBy == .client)
        #expect(closed.code == 4000)
        #expect(closed.reason == "done")
        #expect(closed.clientToTarget == DirectionTotals(frames: 2, bytes: 8))
        #expect(closed.targetToClient == DirectionTotals(frames: 1, bytes: 2))
        #expect(session.openSessions == 0)
        let line = try #require(session.log.last)
        #expect(line.hasPrefix("session 1 closed by client, code 4000: client 192.0.2.1:40000, target target.invalid:5900, "))
        #expect(line.hasSuffix(" s, client->target 8 bytes in 2 frames, target->client 2 bytes in 1 frames"))
    }

    @Test("target closes (EOF): what it sent arrives first, then close 1000; the client's answer ends the handshake")
    func targetCloses() throws {
        let session = try SessionHarness()
        try session.target.writeInbound(ByteBuffer(string: "last"))
        try session.target.close().wait()
        #expect(
            try session.takeOutbound(session.client)
                == serverFrame(2, Array("last".utf8)) + serverClose(1000, "target closed the connection"))
        #expect(!session.clientOutput.outputShut, "waiting for the client's close frame")
        try session.client.writeInbound(clientFrame(opcode: 9, payload: [1]))
        #expect(try session.takeOutbound(session.client) == serverFrame(10, [1]), "pings are answered while closing")
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1000)))
        #expect(try session.takeOutbound(session.client) == [], "no second close frame")
        #expect(session.clientOutput.outputShut)
        try session.client.close().wait()
        let closed = try #require(session.observer.closed)
        #expect(closed.closedBy == .target)
        #expect(closed.code == 1000)
    }

    @Test("the target connection fails with an error: close 1011")
    func targetErrors() throws {
        let session = try SessionHarness()
        session.target.pipeline.fireErrorCaught(ChannelError.outputClosed)
        #expect(try session.takeOutbound(session.client) == serverClose(1011, "target connection failed"))
        #expect(session.log.contains { $0.contains("target connection failed") })
        try session.end()
        #expect(session.observer.closed?.code == 1011)
    }

    @Test("protocol error: the proxy closes with 1002 and the parser's reason, closes the target and drains")
    func protocolError() throws {
        let session = try SessionHarness()
        try session.client.writeInbound(clientFrame(opcode: 2, payload: [1], masked: false))
        #expect(try session.takeOutbound(session.client) == serverClose(1002, "client frame not masked"))
        #expect(session.clientOutput.outputShut)
        #expect(!session.target.isActive)
        try session.client.close().wait()
        let closed = try #require(session.observer.closed)
        #expect(closed.closedBy == .proxy)
        #expect(closed.code == 1002)
        #expect(closed.reason == "client frame not masked")
    }

    @Test("a message over the limit: 1009, and nothing of it reaches the target")
    func messageTooBig() throws {
        let session = try SessionHarness(maxMessageSize: 8)
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array(repeating: 1, count: 9)))
        #expect(try session.takeOutbound(session.client) == serverClose(1009, "message over 8 bytes"))
        #expect(try session.takeOutbound(session.target) == [])
        try session.client.close().wait()
        #expect(session.observer.closed?.closedBy == .proxy)
        #expect(session.observer.closed?.code == 1009)
    }

    @Test("close-handshake timeout: a client that never answers our close frame is cut after the timeout, not before")
    func closeHandshakeTimeout() throws {
        let session = try SessionHarness(closeHandshakeTimeout: .seconds(2))
        try session.target.close().wait()
        #expect(try session.takeOutbound(session.client) == serverClose(1000, "target closed the connection"))
        session.advance(by: .milliseconds(1999))
        #expect(session.client.isActive)
        session.advance(by: .milliseconds(1))
        #expect(!session.client.isActive, "cut at 2 s")
        let closed = try #require(session.observer.closed)
        #expect(closed.closedBy == .target, "the close was the target's, though the proxy cut the connection")
    }

    @Test("draining is bounded too: a client that stays after the close handshake is cut after the timeout")
    func drainTimeout() throws {
        let session = try SessionHarness(closeHandshakeTimeout: .seconds(2))
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1000)))
        session.advance(by: .seconds(1))
        try session.client.writeInbound(ByteBuffer(bytes: [1, 2, 3]))
        #expect(session.client.isActive)
        session.advance(by: .seconds(1))
        #expect(!session.client.isActive)
        #expect(session.observer.closed?.closedBy == .client)
    }

    @Test("server shutdown: 1001 to the client, the target closed; the client's answer completes the close")
    func serverShutdown() throws {
        let session = try SessionHarness()
        try #require(session.handler).shutdown()
        #expect(try session.takeOutbound(session.client) == serverClose(1001, "server shutting down"))
        #expect(!session.target.isActive)
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1001)))
        #expect(session.clientOutput.outputShut)
        try session.client.close().wait()
        #expect(session.observer.closed?.closedBy == .proxy)
        #expect(session.observer.closed?.code == 1001)
    }

    @Test("server shutdown while the target connects: 1001 at once, and the connection that comes later is dropped")
    func shutdownWhileConnecting() throws {
        let session = try SessionHarness(connect: .later)
        try #require(session.handler).shutdown()
        #expect(try session.takeOutbound(session.client) == serverClose(1001, "server shutting down"))
        session.connectTarget()
        #expect(!session.target.isActive)
        #expect(session.observer.opened == false)
        try session.end()
    }

    // MARK: Connecting

    @Test("the client leaves while the target is still connecting: its frames are delivered, then the target is closed")
    func clientLeavesWhileConnecting() throws {
        let session = try SessionHarness(connect: .later)
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("one".utf8)))
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("two".utf8)))
        try session.client.close().wait()
        #expect(session.observer.closed == nil, "the session waits for the target")
        session.connectTarget()
        #expect(try session.takeOutbound(session.target) == Array("onetwo".utf8))
        #expect(!session.target.isActive)
        let closed = try #require(session.observer.closed)
        #expect(closed.closedBy == .client)
        #expect(closed.clientToTarget.frames == 2)
        #expect(session.openSessions == 0)
    }

    @Test("the target is unreachable: close 1011 'target unreachable', logged, and the client is drained")
    func targetUnreachable() throws {
        let session = try SessionHarness(connect: .later)
        session.failTarget()
        #expect(try session.takeOutbound(session.client) == serverClose(1011, "target unreachable"))
        #expect(session.clientOutput.outputShut)
        #expect(session.log.contains { $0.contains("cannot connect to target target.invalid:5900") })
        try session.client.close().wait()
        #expect(session.observer.closed?.closedBy == .proxy)
        #expect(session.observer.opened == false)
    }

    // MARK: Heartbeat

    @Test("heartbeat: a ping every interval while relaying, none once the session closes")
    func heartbeat() throws {
        let session = try SessionHarness(heartbeat: .seconds(5))
        session.advance(by: .milliseconds(4999))
        #expect(try session.takeOutbound(session.client) == [])
        session.advance(by: .milliseconds(1))
        #expect(try session.takeOutbound(session.client) == serverFrame(9, Array("ping".utf8)))
        session.advance(by: .seconds(5))
        #expect(try session.takeOutbound(session.client) == serverFrame(9, Array("ping".utf8)))
        try session.client.writeInbound(clientFrame(opcode: 10, payload: Array("ping".utf8)))  // the answer
        try #require(session.handler).shutdown()
        #expect(try session.takeOutbound(session.client) == serverClose(1001, "server shutting down"))
        session.advance(by: .seconds(1))
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1001)))
        session.advance(by: .seconds(30))
        #expect(try session.takeOutbound(session.client) == [], "no ping after the close")
        #expect(session.observer.closed?.targetToClient.frames == 3)
    }

    @Test("a session that ends leaves no timer behind: the handler is released without the clock moving on")
    func noTimerLeftBehind() throws {
        let session = try SessionHarness(heartbeat: .seconds(5))
        session.advance(by: .seconds(5))
        #expect(try session.takeOutbound(session.client) == serverFrame(9, Array("ping".utf8)), "the heartbeat runs")
        try session.client.close().wait()
        #expect(session.observer.closed?.closedBy == .client)
        #expect(!session.target.isActive)
        session.loop.run()  // the channels' own teardown, which they do on the loop's next turn
        #expect(session.handler == nil, "a pending heartbeat (or another timer) still holds the session")
    }

    // MARK: Session backend

    @Test("a session backend drives the session: client payloads to it, its bytes and its close to the client")
    func backend() throws {
        let provider = RecordingBackendProvider()
        let session = try SessionHarness(backend: provider)
        let backend = try #require(provider.backend)
        #expect(backend.calls == ["start"])
        #expect(session.observer.opened)
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("abc".utf8)))
        #expect(backend.calls == ["start", "data abc"])
        backend.driver?.send(ByteBuffer(string: "xyz"))
        backend.driver?.flush()
        #expect(try session.takeOutbound(session.client) == serverFrame(2, Array("xyz".utf8)))
        session.setWritable(session.client, false)
        #expect(backend.driver?.isWritable == false)
        #expect(backend.calls.last == "writable false")
        session.setWritable(session.client, true)
        backend.driver?.close(code: 4000, reason: "bye")
        #expect(try session.takeOutbound(session.client) == serverClose(4000, "bye"))
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(4000)))
        try session.client.close().wait()
        #expect(backend.calls.last == "ended target 4000")
        #expect(session.log.first?.hasSuffix("driven by a session backend") == true)
    }
}

/// A session backend that notes every call it gets.
final class RecordingBackend: SessionBackend {
    private(set) var calls: [String] = []
    private(set) var driver: SessionDriver?

    func start(_ driver: SessionDriver) {
        self.driver = driver
        calls.append("start")
    }
    func clientData(_ bytes: ByteBuffer) { calls.append("data \(String(buffer: bytes))") }
    func clientWritabilityChanged(isWritable: Bool) { calls.append("writable \(isWritable)") }
    func ended(_ close: SessionClose) { calls.append("ended \(close.closedBy.name) \(close.code.map(String.init) ?? "none")") }
}

/// Makes one ``RecordingBackend`` and keeps it for the test (used on the test's embedded loop only).
final class RecordingBackendProvider: SessionBackendProvider, @unchecked Sendable {
    private(set) var backend: RecordingBackend?
    func subprotocolPreference() -> [String] { ["binary"] }
    func makeBackend(_ info: SessionBackendInfo) -> any SessionBackend {
        let backend = RecordingBackend()
        self.backend = backend
        return backend
    }
}
