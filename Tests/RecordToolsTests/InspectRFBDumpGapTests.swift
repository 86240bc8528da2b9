import Foundation
import RecordFormat
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordTools

@Suite("wsrecord-inspect dump --rfb on a recording with a gap")
struct InspectRFBDumpGapTests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    static let start: Int64 = 1_764_000_000_000_000

    func frame(_ time: UInt64, _ direction: Direction, _ bytes: [UInt8]) -> Record {
        Record(session: 1, timeMicros: time, body: .frame(Frame(direction: direction, opcode: .binary, payload: bytes)))
    }

    /// An RFB 3.8 session whose client stream lost one frame in the middle: the first 5 of the 8
    /// bytes of KeyEvent 'b'. The frame after the gap starts with the rest of that message, which
    /// read as a new message would be a SetPixelFormat (type 0) swallowing KeyEvent 'c'.
    func gapRecording(_ path: String) throws {
        let writer = try RecordFileWriter(path: path, configuration: .init(), clock: ManualClock())
        let open = SessionOpen(
            startWallMicros: Self.start, clientAddress: "127.0.0.1:50000", listenAddress: "127.0.0.1:6080",
            target: .hostPort("127.0.0.1:5900"), requestPath: "/", subprotocol: "binary", tls: false)
        let pixelFormat: [UInt8] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]
        let serverInit: [UInt8] = [0, 8, 0, 8] + pixelFormat + [0, 0, 0, 0]
        for record in [
            Record(session: 1, timeMicros: 0, body: .open(open)),
            frame(1000, .targetToClient, Array("RFB 003.008\n".utf8)),
            frame(2000, .clientToTarget, Array("RFB 003.008\n".utf8)),
            frame(3000, .targetToClient, [1, 1]),
            frame(4000, .clientToTarget, [1]),
            frame(5000, .targetToClient, [0, 0, 0, 0]),
            frame(6000, .clientToTarget, [1]),
            frame(7000, .targetToClient, serverInit),
            frame(8000, .clientToTarget, [4, 1, 0, 0, 0, 0, 0, 0x61]),
        ] {
            try writer.append(record)
        }
        try writer.appendGap(
            RecordGap(
                causes: .writeFailed, detail: "No space left on device", records: 1, payloadBytes: 5,
                firstWallMicros: Self.start + 9000, lastWallMicros: Self.start + 9000,
                sessions: [
                    RecordGap.SessionLoss(
                        session: 1, records: 1, clientToTarget: .init(frames: 1, bytes: 5), firstTimeMicros: 9000,
                        lastTimeMicros: 9000, firstWallMicros: Self.start + 9000, lastWallMicros: Self.start + 9000)
                ]))
        for record in [
            frame(10000, .clientToTarget, [0, 0, 0x62, 4, 1, 0, 0, 0, 0, 0, 0x63]),
            frame(11000, .targetToClient, [2]),
            Record(session: 1, timeMicros: 12000, body: .close(SessionClose(closedBy: .client, code: 1000))),
        ] {
            try writer.append(record)
        }
        try writer.close()
    }

    @Test("the gap is shown and the client stream stops there with `lost`; the target's stream goes on")
    func gapInTheMiddle() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rfb-gap.rec").path
        try gapRecording(path)

        let text = try run(inspect, ["dump", "--rfb", path])
        #expect(text.status == 3, "a recording with a gap is incomplete")
        #expect(text.stderr.contains("incomplete: 1 record (5 payload bytes) lost in 1 gap"), "\(text.stderr)")
        try expectGolden(text.stdout, "gap-dump-rfb.txt")
        // Read on as if nothing were missing, the rest of KeyEvent 'b' would start a SetPixelFormat
        // that the stream ends inside of.
        #expect(!text.stdout.contains("SetPixelFormat") && !text.stdout.contains("truncated:"), "\(text.stdout)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let gapLine = try #require(lines.firstIndex { $0.contains(" gap ") }, "\(text.stdout)")
        #expect(lines[gapLine].contains("1 record lost until 0.009000 s (c→t 1 frame)"))
        #expect(lines[gapLine - 1].contains("c→t @14       KeyEvent 'a' (0x61) down"))
        #expect(
            lines[gapLine + 1].contains(
                "c→t @22       lost: the recording lost 1 frames (5 bytes) here (a block could not be written)"),
            "\(text.stdout)")
        // Nothing of the client's after the gap is decoded; the target's Bell after it is.
        #expect(lines[(gapLine + 2)...].allSatisfy { !$0.contains(" c→t ") }, "\(text.stdout)")
        #expect(lines.last?.contains("t→c @42       Bell") == true, "\(text.stdout)")

        let json = try run(inspect, ["dump", "--rfb", "--json", path])
        #expect(json.status == 3)
        let objects = try json.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let gap = try #require(objects.first { $0["kind"] as? String == "gap" })
        #expect(gap["client_frames"] as? Int == 1 && gap["client_bytes"] as? Int == 5)
        let lost = try #require(objects.first { ($0["description"] as? String)?.hasPrefix("lost:") == true })
        #expect(lost["from"] as? String == "client" && lost["offset"] as? Int == 22, "\(lost)")

        // Only the target's messages: the gap lost none of them, so neither line is shown.
        let target = try run(inspect, ["dump", "--rfb", "--direction", "target", path])
        #expect(!target.stdout.contains(" gap ") && !target.stdout.contains("lost:"), "\(target.stdout)")
        #expect(target.stdout.contains("t→c @42       Bell"))
    }
}
