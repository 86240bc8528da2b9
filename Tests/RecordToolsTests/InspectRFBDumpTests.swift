import Foundation
import RecordFormat
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordTools

@Suite("wsrecord-inspect dump --rfb")
struct InspectRFBDumpTests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    @Test("the legacy noVNC fixture: one line per RFB message, matching the golden text and JSON lines")
    func fixture() throws {
        let path = fixturePath("websockify-0.10-session.legacy")
        let text = try run(inspect, ["dump", "--rfb", path])
        #expect(text.status == 0, "\(text.stderr)")
        try expectGolden(text.stdout, "fixture-dump-rfb.txt")
        #expect(
            !text.stdout.contains("unknown:") && !text.stdout.contains("malformed:")
                && !text.stdout.contains("truncated:"))
        #expect(text.stdout.contains("c→t @256      KeyEvent 'o' (0x6f) down"))

        let json = try run(inspect, ["dump", "--rfb", "--json", path])
        #expect(json.status == 0)
        try expectGolden(json.stdout, "fixture-dump-rfb.jsonl")
        let lines = json.stdout.split(separator: "\n")
        #expect(lines.count == text.stdout.split(separator: "\n").count)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["session", "time_us", "from", "offset", "length", "type", "description"] {
                #expect(object[key] != nil, "\(key) in \(line)")
            }
            #expect(["client", "target"].contains(object["from"] as? String ?? ""))
        }

        let client = try run(inspect, ["dump", "--rfb", "--direction", "client", "--to", "1.6", path])
        #expect(client.status == 0)
        let clientLines = client.stdout.split(separator: "\n")
        #expect(!clientLines.isEmpty && clientLines.allSatisfy { $0.contains(" c→t @") })
        let expected = text.stdout.split(separator: "\n").filter { line in
            line.contains(" c→t @") && Double(line.split(separator: " ")[0]).map { $0 < 1.6 } == true
        }
        #expect(clientLines == expected)
    }

    @Test("a stream that cannot be followed says what and where; base64 sessions are decoded")
    func problemAndBase64() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rfb.rec").path
        func frame(_ session: UInt32, _ time: UInt64, _ direction: Direction, _ bytes: [UInt8], base64: Bool = false)
            -> Record
        {
            let payload = base64 ? Array(TextEncoding.base64(bytes).utf8) : bytes
            return Record(
                session: session, timeMicros: time,
                body: .frame(Frame(direction: direction, opcode: base64 ? .text : .binary, payload: payload)))
        }
        let open = SessionOpen(
            startWallMicros: 1_764_000_000_000_000, clientAddress: "127.0.0.1:50000", listenAddress: "127.0.0.1:6080",
            target: .hostPort("127.0.0.1:5900"), requestPath: "/", subprotocol: "binary", tls: false)
        var old = open
        old.subprotocol = "base64"
        let pixelFormat: [UInt8] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]
        let serverInit: [UInt8] = [0, 8, 0, 8] + pixelFormat + [0, 0, 0, 0]
        let records = [
            Record(session: 1, timeMicros: 0, body: .open(open)),
            frame(1, 1000, .targetToClient, Array("RFB 003.008\n".utf8)),
            frame(1, 2000, .clientToTarget, Array("RFB 003.008\n".utf8)),
            frame(1, 3000, .targetToClient, [1, 1]),
            frame(1, 4000, .clientToTarget, [1]),
            frame(1, 5000, .targetToClient, [0, 0, 0, 0]),
            frame(1, 6000, .clientToTarget, [1]),
            frame(1, 7000, .targetToClient, serverInit),
            frame(1, 8000, .clientToTarget, [4, 1, 0, 0, 0, 0, 0xFF, 0x0D, 200, 0, 0]),
            Record(session: 2, timeMicros: 0, body: .open(old)),
            frame(2, 1000, .targetToClient, Array("RFB 003.003\n".utf8), base64: true),
            frame(2, 2000, .clientToTarget, Array("RFB 003.003\n".utf8), base64: true),
            frame(2, 3000, .targetToClient, [0, 0, 0, 1], base64: true),
            frame(2, 4000, .clientToTarget, [0], base64: true),
            frame(2, 5000, .targetToClient, serverInit + [0, 0, 0, 4], base64: true),
        ]
        try writeRecording(records, to: path)
        let result = try run(inspect, ["dump", "--rfb", path])
        #expect(result.status == 0, "\(result.stderr)")
        try expectGolden(result.stdout, "problems-dump-rfb.txt")
        #expect(
            result.stdout.contains("c→t @22       unknown: client message type 200 is not known at client offset 22"))
        #expect(result.stdout.contains("s2   t→c @12       SecurityType None (1)"))
        #expect(
            result.stdout.contains(
                "truncated: the stream ends inside a FramebufferUpdate after 0 of 4 rectangles at server offset 40"))

        let usage = try run(inspect, ["dump", "--rfb", "--hex", path])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("--rfb"))
    }
}
