import Foundation
import RFB
import RFBDecoding
import RecordFormat
import RecordTestSupport
import TestSupport
import WebSocketWire

@testable import RecordViewer

/// A small RFB session as records: a 6×4 screen in a 16-bit pixel format (not noVNC's), Raw
/// updates at 1 s and 6 s, a CopyRect at 7 s, keys and pointer from the client.
enum ViewerTestSession {
    static let width = 6
    static let height = 4
    /// RGB565 little-endian.
    static let format = RFBPixelFormat(
        bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31,
        redShift: 11, greenShift: 5, blueShift: 0)

    static func server(_ time: UInt64, _ bytes: [UInt8]) -> Record {
        Record(session: 1, timeMicros: time, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: bytes)))
    }

    static func client(_ time: UInt64, _ bytes: [UInt8]) -> Record {
        Record(session: 1, timeMicros: time, body: .frame(Frame(direction: .clientToTarget, opcode: .binary, payload: bytes)))
    }

    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func be32(_ v: Int32) -> [UInt8] { let u = UInt32(bitPattern: v); return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: u >> $0) } }

    static func rectangle(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ encoding: Int32) -> [UInt8] {
        be16(x) + be16(y) + be16(w) + be16(h) + be32(encoding)
    }

    /// Raw pixels of a w×h rectangle, each an RGB565 value from `seed`.
    static func raw(_ w: Int, _ h: Int, seed: UInt64) -> [UInt8] { noise(w * h * 2, seed: seed) }

    static func update(_ rectangles: [[UInt8]]) -> [UInt8] { [0, 0] + be16(rectangles.count) + rectangles.flatMap { $0 } }

    /// The records; `format` picks the updates' pixel format (sent by the client as SetPixelFormat).
    static func records(format: RFBPixelFormat = format, encodings: [Int32] = [0, 1], close: Bool = true) -> [Record] {
        let bpp = Int(format.bitsPerPixel) / 8
        func pixels(_ w: Int, _ h: Int, _ seed: UInt64) -> [UInt8] { noise(w * h * bpp, seed: seed) }
        var records: [Record] = [
            Record(session: 1, timeMicros: 0, body: .open(SessionOpen(
                startWallMicros: 1_764_000_000_000_000, clientAddress: "127.0.0.1:5000", listenAddress: "127.0.0.1:6080",
                target: .hostPort("127.0.0.1:5900"), requestPath: "/websockify", subprotocol: "binary"))),
            server(10, Array("RFB 003.008\n".utf8)),
            client(20, Array("RFB 003.008\n".utf8)),
            server(30, [1, 1]),
            client(40, [1]),
            server(50, [0, 0, 0, 0]),
            client(60, [1]),
            server(70, be16(width) + be16(height) + ViewerTestSession.format.bytes + be32(4) + Array("test".utf8)),
            client(80, [0, 0, 0, 0] + format.bytes),
            client(90, [2, 0] + be16(encodings.count) + encodings.flatMap(be32)),
            client(100, [3, 0, 0, 0, 0, 0] + be16(width) + be16(height)),
            server(1_000_000, update([rectangle(0, 0, width, height, 0) + pixels(width, height, 1)])),
            client(2_000_000, [4, 1, 0, 0, 0, 0, 0, 0x61]),
            client(2_100_000, [4, 0, 0, 0, 0, 0, 0, 0x61]),
            client(2_500_000, [5, 1] + be16(3) + be16(2)),
        ]
        // An update split over two frames: its first half at 5.9 s, the rest at 6 s.
        let second = update([rectangle(1, 1, 3, 2, 0) + pixels(3, 2, 2), rectangle(5, 0, 1, 4, 0) + pixels(1, 4, 3)])
        records.append(server(5_900_000, Array(second.prefix(9))))
        records.append(server(6_000_000, Array(second.dropFirst(9))))
        records.append(server(7_000_000, update([rectangle(0, 2, 2, 2, 1) + be16(3) + be16(0)])))
        records.append(Record(session: 1, timeMicros: 7_500_000, body: .marker("after the copy")))
        if close {
            records.append(Record(session: 1, timeMicros: 8_000_000, body: .close(SessionClose(closedBy: .client, code: 1000))))
        }
        return records
    }

    /// A recording of ``records(format:encodings:close:)`` read into a ViewerRecording.
    static func recording(
        format: RFBPixelFormat = format, encodings: [Int32] = [0, 1], close: Bool = true, keyframeMicros: UInt64 = 5_000_000
    ) -> ViewerRecording {
        let recording = ViewerRecording(path: "test.rec", keyframeIntervalMicros: keyframeMicros)
        recording.began(format: .native, following: false)
        for record in records(format: format, encodings: encodings, close: close) { recording.apply(.record(record)) }
        recording.finishReading()
        return recording
    }

    /// The screen the original records draw up to `time` (inclusive).
    static func screen(at time: UInt64, format: RFBPixelFormat = format) -> RFBFramebuffer? {
        let decoder = RFBFramebufferDecoder()
        for record in records(format: format) where record.timeMicros <= time {
            guard case .frame(let frame) = record.body else { continue }
            _ = decoder.feed(frame.direction == .clientToTarget ? .clientToServer : .serverToClient, frame.payload)
        }
        return decoder.framebuffer
    }

    /// Feeds `stream`'s pieces up to `time` to `decoder` as a client would receive them; a stream
    /// made by ``ViewerSession/stream(at:supported:)`` begins with the four handshake steps, after
    /// each of which the client's answer is fed.
    static func feed(_ stream: ViewerStream, upTo time: UInt64, into decoder: RFBFramebufferDecoder, handshake: Bool = true)
        -> [RFBDecodeProblem]
    {
        let answers: [[UInt8]] = [Array("RFB 003.008\n".utf8), [1], [1], []]
        var problems: [RFBDecodeProblem] = []
        for (i, piece) in stream.pieces.enumerated() where piece.timeMicros <= time {
            problems += decoder.feed(.serverToClient, piece.bytes)
            if handshake, i < answers.count, !answers[i].isEmpty { problems += decoder.feed(.clientToServer, answers[i]) }
        }
        return problems
    }
}
