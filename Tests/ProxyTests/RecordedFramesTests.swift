import NIOCore
import NIOEmbedded
import RecordFormat
import Testing
import WebSocketWire

@testable import Proxy

/// What a recording holds: every frame with its own direction, opcode, FIN bit and bytes, on both
/// sides of the 4 KiB line where the tap stops copying payloads (``QueuedPayload``), and the close
/// frames of both close handshakes.
@Suite("Recorded frames, both directions")
struct RecordedFramesTests {
    static let sizes = [0, 1, 100, QueuedPayload.minimumLength - 1, QueuedPayload.minimumLength,
        QueuedPayload.minimumLength + 1, 70_000]

    @Test("frames of every size keep their direction, opcode, FIN bit and bytes, copied or queued")
    func directionsAndSizes() throws {
        let file = try TapRecording()
        let tap = file.makeTap()
        tap.opened(SessionOpen(startWallMicros: 1))
        var sent: [Frame] = []
        for (n, size) in Self.sizes.enumerated() {
            for direction in [Direction.clientToTarget, .targetToClient] {
                let seed = UInt8(truncatingIfNeeded: 2 * n + Int(direction.rawValue))
                let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) }
                var buffer = ByteBuffer(bytes: bytes)
                if size >= QueuedPayload.minimumLength {
                    try #require(QueuedPayload(buffer) != nil, "a \(size)-byte payload takes the no-copy path")
                }
                let opcode: Opcode = n % 2 == 0 ? .binary : .text
                let isFinal = size != 100
                tap.frame(direction, opcode: opcode, isFinal: isFinal, payload: buffer)
                buffer.clear()  // the session reuses its buffers: what was queued must not change
                sent.append(Frame(direction: direction, opcode: opcode, payload: bytes, isFinal: isFinal))
            }
        }
        tap.closed(SessionClose(closedBy: .client))
        let recorded = try file.closeAndReadFrames()
        try #require(recorded.count == sent.count, "one record per frame")
        for (got, want) in zip(recorded, sent) {
            #expect(got.direction == want.direction, "\(want.payload.count)-byte frame from the \(want.direction.senderName)")
            #expect(got.opcode == want.opcode && got.isFinal == want.isFinal, "\(want.payload.count) bytes")
            #expect(got.payload == want.payload, "\(want.payload.count)-byte frame from the \(want.direction.senderName)")
        }
    }

    @Test("close frames from both sides are recorded with code, reason and direction", arguments: [false, true])
    func closeFramesThroughTheTap(redacting: Bool) throws {
        let file = try TapRecording(redaction: redacting ? [.auth, .keys] : [])
        let tap = file.makeTap()
        tap.opened(SessionOpen(startWallMicros: 1))
        let clientClose = closePayload(1000, Array("bye".utf8))
        let proxyClose = closePayload(1000)
        tap.frame(.clientToTarget, opcode: .close, isFinal: true, payload: ByteBuffer(bytes: clientClose))
        tap.frame(.targetToClient, opcode: .close, isFinal: true, payload: ByteBuffer(bytes: proxyClose))
        tap.closed(SessionClose(closedBy: .client, code: 1000))
        #expect(
            try file.closeAndReadFrames() == [
                Frame(direction: .clientToTarget, opcode: .close, payload: clientClose),
                Frame(direction: .targetToClient, opcode: .close, payload: proxyClose),
            ])
    }

    @Test("a session closed by the client records the client's close frame and the proxy's answer")
    func clientClosesSession() throws {
        let file = try TapRecording()
        let session = try SessionHarness(taps: [file.recording.tapFactory])
        try session.client.writeInbound(clientFrame(opcode: 2, payload: Array("hi".utf8)))
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1001, Array("tab closed".utf8))))
        #expect(try session.takeOutbound(session.client) == [0x88, 2, 0x03, 0xE9], "the close is echoed")
        try session.end()
        #expect(
            try file.closeAndReadFrames() == [
                Frame(direction: .clientToTarget, opcode: .binary, payload: Array("hi".utf8)),
                Frame(direction: .clientToTarget, opcode: .close, payload: closePayload(1001, Array("tab closed".utf8))),
                Frame(direction: .targetToClient, opcode: .close, payload: closePayload(1001)),
            ])
    }

    @Test("a session closed by the target records the proxy's close frame and the client's answer")
    func targetClosesSession() throws {
        let file = try TapRecording()
        let session = try SessionHarness(taps: [file.recording.tapFactory])
        try session.target.writeInbound(ByteBuffer(string: "bye"))
        try session.target.close().wait()  // the target hangs up
        let reason = Array("target closed the connection".utf8)
        #expect(
            try session.takeOutbound(session.client)
                == [0x82, 3] + Array("bye".utf8) + [0x88, UInt8(2 + reason.count)] + closePayload(1000, reason))
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1000)))
        try session.end()
        #expect(
            try file.closeAndReadFrames() == [
                Frame(direction: .targetToClient, opcode: .binary, payload: Array("bye".utf8)),
                Frame(direction: .targetToClient, opcode: .close, payload: closePayload(1000, reason)),
                Frame(direction: .clientToTarget, opcode: .close, payload: closePayload(1000)),
            ])
    }
}
