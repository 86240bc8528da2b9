import Foundation
import NIOCore
import RecordFormat
import Testing
import WebSocketWire

@testable import Proxy

@Suite("Recording tap: redaction")
struct RecordingTapTests {
    /// Runs an RFB 3.8 exchange with VNC authentication through a tap and returns what was recorded.
    func record(subprotocol: String?, clientFrames: [(Opcode, Bool, [UInt8])]) throws -> [Frame] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tap-\(UUID().uuidString).rec").path
        defer { unlink(path) }
        let recording = try SessionRecording(file: path, redaction: [.auth, .keys]) { _ in }
        let tap = RecordingTap(recorder: recording.recorder, redaction: recording.redaction)
        let base64 = subprotocol == "base64"
        func wire(_ bytes: [UInt8]) -> ByteBuffer {
            base64 ? ByteBuffer(string: Data(bytes).base64EncodedString()) : ByteBuffer(bytes: bytes)
        }
        tap.opened(SessionOpen(startWallMicros: 1, subprotocol: subprotocol))
        let serverOpcode: Opcode = base64 ? .text : .binary
        tap.frame(.targetToClient, opcode: serverOpcode, isFinal: true, payload: wire(Array("RFB 003.008\n".utf8) + [1, 2]))
        for (opcode, fin, bytes) in clientFrames {
            let payload = opcode == .binary ? ByteBuffer(bytes: bytes) : (opcode == .continuation ? ByteBuffer(bytes: bytes) : wire(bytes))
            tap.frame(.clientToTarget, opcode: opcode, isFinal: fin, payload: payload)
        }
        tap.closed(SessionClose(closedBy: .client))
        recording.recorder.close()
        return try RecordSource(path: path).readAll().compactMap { record in
            if case .frame(let frame) = record.body, frame.direction == .clientToTarget { return frame }
            return nil
        }
    }

    static let handshake: [(Opcode, Bool, [UInt8])] = [
        (.text, true, Array("RFB 003.008\n".utf8)), (.text, true, [2]), (.text, true, [UInt8](repeating: 0x5A, count: 16)),
        (.text, true, [1]),
    ]

    @Test("binary sessions: the auth response and key events are filler; pointer events stay")
    func binary() throws {
        let frames = try record(
            subprotocol: "binary",
            clientFrames: Self.handshake.map { (.binary, $0.1, $0.2) } + [
                (.binary, true, [5, 0, 0, 1, 0, 2]), (.binary, true, [4, 1, 0, 0, 0, 0, 0, 0x61]),
            ])
        try #require(frames.map(\.isRedacted) == [false, false, true, false, false, true])
        #expect(frames[2].payload == [UInt8](repeating: 0, count: 16))
    }

    @Test("base64 sessions: whole text messages are decoded and judged; fragments are redacted")
    func base64() throws {
        let keyText = Array(Data([4, 1, 0, 0, 0, 0, 0, 0x61]).base64EncodedString().utf8)
        let frames = try record(
            subprotocol: "base64",
            clientFrames: Self.handshake + [
                (.text, true, [5, 0, 0, 1, 0, 2]),  // pointer: kept
                (.text, true, [4, 1, 0, 0, 0, 0, 0, 0x61]),  // key: redacted
                (.text, false, Array(keyText.prefix(5))),  // a key split into fragments: redacted
                (.continuation, true, Array(keyText.dropFirst(5))),
            ])
        #expect(frames.map(\.isRedacted) == [false, false, true, false, false, true, true, true])
    }
}

@Suite("Recording tap: payloads queued without a copy")
struct RecordingTapQueueTests {
    @Test("a payload that is most of its buffer is queued as it is; small ones and small slices are copied")
    func queuedOrCopied() throws {
        var whole = ByteBuffer(bytes: [UInt8](repeating: 7, count: 8192))
        #expect(QueuedPayload(whole)?.retainedBytes == whole.storageCapacity)
        #expect(QueuedPayload(ByteBuffer(bytes: [1, 2, 3])) == nil, "too short to be worth it")
        let read = whole.readSlice(length: 4096)
        let slice = try #require(read)
        #expect(QueuedPayload(slice) != nil, "half of its buffer")
        var big = ByteBufferAllocator().buffer(capacity: 1 << 20)
        big.writeBytes([UInt8](repeating: 1, count: 5000))
        #expect(QueuedPayload(big) == nil, "would keep 1 MiB alive for 5000 bytes")
    }

    @Test("frames recorded with and without redaction read back the same, whatever their size")
    func sameRecords() throws {
        func record(_ redaction: RecordingRedaction) throws -> [Frame] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tapq-\(UUID().uuidString).rec").path
            defer { unlink(path) }
            let recording = try SessionRecording(file: path, redaction: redaction) { _ in }
            let tap = RecordingTap(recorder: recording.recorder, redaction: recording.redaction)
            tap.opened(SessionOpen(startWallMicros: 1))
            for (n, size) in [3, 4095, 4096, 70_000, 1 << 20].enumerated() {
                var payload = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) })
                tap.frame(.targetToClient, opcode: .binary, isFinal: true, payload: payload)
                payload.clear()  // the session may reuse its buffer: the queued bytes must not change
                payload.writeBytes([9, 9, 9])
            }
            tap.closed(SessionClose(closedBy: .client))
            recording.recorder.close()
            return try RecordSource(path: path).readAll().compactMap { record in
                if case .frame(let frame) = record.body { return frame }
                return nil
            }
        }
        let queued = try record([])
        #expect(queued.map(\.payload.count) == [3, 4095, 4096, 70_000, 1 << 20])
        // Server frames are never redacted: the copying path (redaction on) gives the same records.
        #expect(queued == (try record([.keys])))
    }
}
