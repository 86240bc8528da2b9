import Foundation
import RFB
import RecordFormat
import Testing

private func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

@Suite("RFB client stream parsing")
struct RFBClientStreamParserTests {
    /// Feeds the real noVNC ↔ x11vnc session of the legacy fixture, frame by frame.
    static func fixtureMessages(splitBytes: Bool) throws -> (messages: [RFBClientStreamParser.Parsed], clientBytes: Int, state: RFBClientStreamParser.State) {
        let records = try RecordSource(path: fixturePath("websockify-0.10-session.legacy")).readAll()
        var parser = RFBClientStreamParser()
        var messages: [RFBClientStreamParser.Parsed] = []
        var clientBytes = 0
        for record in records {
            guard case .frame(let frame) = record.body else { continue }
            let pieces = splitBytes ? frame.payload.map { [$0] } : [frame.payload]
            for piece in pieces {
                if frame.direction == .clientToTarget {
                    clientBytes += piece.count
                    messages += parser.feedClient(piece)
                } else {
                    messages += parser.feedServer(piece)
                }
            }
        }
        return (messages, clientBytes, parser.state)
    }

    @Test("a real noVNC session splits into known messages that cover every client byte")
    func realSession() throws {
        let result = try Self.fixtureMessages(splitBytes: false)
        #expect(result.state == .messages)
        let names = result.messages.map(\.message.name)
        #expect(Array(names.prefix(4)) == ["ProtocolVersion", "SecurityChoice", "ClientInit", "SetPixelFormat"])
        #expect(names.contains("SetEncodings"))
        #expect(names.contains("FramebufferUpdateRequest"))
        let keys = result.messages.compactMap { parsed -> UInt32? in
            if case .keyEvent(true, let keysym) = parsed.message { return keysym }
            return nil
        }
        #expect(!keys.isEmpty, "the fixture has typed keys")
        // Messages tile the client stream without gaps.
        var offset: UInt64 = 0
        for parsed in result.messages {
            #expect(parsed.offset == offset)
            offset += UInt64(parsed.length)
        }
        #expect(offset == UInt64(result.clientBytes))
    }

    @Test("byte-at-a-time feeding gives the same messages")
    func byteAtATime() throws {
        let whole = try Self.fixtureMessages(splitBytes: false)
        let split = try Self.fixtureMessages(splitBytes: true)
        #expect(split.messages == whole.messages)
    }

    @Test("RFB 3.3 with VNC authentication: the server picks the type, the response is found")
    func version33WithAuth() throws {
        var parser = RFBClientStreamParser()
        var out: [RFBClientStreamParser.Parsed] = []
        out += parser.feedServer(Array("RFB 003.003\n".utf8))
        out += parser.feedClient(Array("RFB 003.003\n".utf8))
        out += parser.feedServer([0, 0, 0, 2] + [UInt8](repeating: 0xAB, count: 16))
        out += parser.feedClient([UInt8](repeating: 0x11, count: 16) + [1])
        out += parser.feedClient([4, 1, 0, 0, 0, 0, 0, 0x61, 5, 0, 0, 10, 0, 20])
        #expect(out.map(\.message) == [
            .protocolVersion("RFB 003.003"), .vncAuthResponse, .clientInit(shared: true),
            .keyEvent(down: true, keysym: 0x61), .pointerEvent(buttons: 0, x: 10, y: 20),
        ])
        try #require(out.count == 5)
        #expect(out[1].offset == 12 && out[1].length == 16)
        #expect(parser.partial == nil)
        #expect(parser.feedClient([4, 0, 0]).isEmpty)
        #expect(parser.partial == .message(type: 4))
        #expect(parser.feedClient([0, 0, 0, 0, 0x61]).map(\.message) == [.keyEvent(down: false, keysym: 0x61)])
        #expect(parser.partial == nil)
    }

    @Test("RFB 3.8 with VNC authentication chosen by the client")
    func version38WithAuth() {
        var parser = RFBClientStreamParser()
        _ = parser.feedServer(Array("RFB 003.008\n".utf8) + [2, 1, 2])
        let out = parser.feedClient(Array("RFB 003.008\n".utf8) + [2] + [UInt8](repeating: 7, count: 16) + [0])
        #expect(out.map(\.message.name) == ["ProtocolVersion", "SecurityChoice", "VNCAuthResponse", "ClientInit"])
    }

    @Test("a client asking a 3.3 server for 3.8 gets the 3.3 handshake, as the session parser reads it")
    func clientAsksMoreThanOffered() {
        // Found by the rfb-client-stream fuzz target: this parser followed the client's 3.8 (a one-byte security
        // choice) while RFBSessionParser follows the lower version, in which the server picks the type.
        var parser = RFBClientStreamParser()
        var session = RFBSessionParser()
        var out: [RFBClientStreamParser.Parsed] = []
        var found: [RFBParsedMessage] = []
        func server(_ bytes: [UInt8]) {
            out += parser.feedServer(bytes)
            found += session.feed(.serverToClient, bytes).compactMap { if case .message(let m) = $0, m.direction == .clientToServer { m } else { nil } }
        }
        func client(_ bytes: [UInt8]) {
            out += parser.feedClient(bytes)
            found += session.feed(.clientToServer, bytes).compactMap { if case .message(let m) = $0, m.direction == .clientToServer { m } else { nil } }
        }
        server(Array("RFB 003.006\n".utf8))
        client(Array("RFB 003.008\n".utf8))
        server([0, 0, 0, 2] + [UInt8](repeating: 0xAB, count: 16))
        client([UInt8](repeating: 0x11, count: 16) + [1] + [4, 1, 0, 0, 0, 0, 0, 0x61])
        #expect(out.map(\.message.name) == ["ProtocolVersion", "VNCAuthResponse", "ClientInit", "KeyEvent"])
        #expect(out.map(\.offset) == found.map(\.offset))
        #expect(out.map { UInt64($0.length) } == found.map(\.length))
    }

    @Test("an unknown security type or message type stops attribution instead of guessing")
    func losesSync() {
        var parser = RFBClientStreamParser()
        _ = parser.feedServer(Array("RFB 003.008\n".utf8))
        _ = parser.feedClient(Array("RFB 003.008\n".utf8) + [19])
        guard case .lost = parser.state else {
            Issue.record("VeNCrypt is not followed")
            return
        }
        #expect(parser.feedClient([4, 1, 0, 0, 0, 0, 0, 0x61]).isEmpty)

        var other = RFBClientStreamParser()
        _ = other.feedServer(Array("RFB 003.008\n".utf8))
        _ = other.feedClient(Array("RFB 003.008\n".utf8) + [1, 1])
        #expect(other.state == .messages)
        #expect(other.feedClient([200, 1, 2, 3]).isEmpty)
        guard case .lost = other.state else {
            Issue.record("unknown message type 200 loses sync")
            return
        }
    }
}
