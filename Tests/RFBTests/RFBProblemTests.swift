import RFB
import Testing

@Suite("unknown, malformed, unsupported, redacted and truncated input is reported with its offset")
struct RFBProblemTests {
    func problems(_ events: [RFBParseEvent]) -> [RFBParseProblem] {
        events.compactMap { if case .problem(let problem) = $0 { problem } else { nil } }
    }

    @Test("an unknown client message stops the client side only; the server side goes on")
    func unknownClientMessage() throws {
        var script = RFBScript.connected()
        script.client([4, 1, 0, 0] + u32(0x61) + [200, 1, 2, 3])
        script.client([4, 0, 0, 0] + u32(0x61))
        script.server([2])
        let events = script.parse()
        let problem = try #require(problems(events).first)
        #expect(problem.kind == .unknown && problem.direction == .clientToServer && problem.offset == 22)
        #expect(
            problem.description
                == "unknown: client message type 200 is not known at client offset 22; later client bytes are not followed"
        )
        #expect(events.last?.parsedMessage?.message == .bell)
        #expect(problems(events).count == 1)
        #expect(events.compactMap(\.parsedMessage).filter { $0.message.name == "KeyEvent" }.count == 1)
    }

    @Test("an unknown server message and a bad version are reported where they start")
    func unknownServerMessageAndBadVersion() throws {
        var script = RFBScript.connected()
        script.server([2, 99, 0, 0])
        let unknown = try #require(problems(script.parse()).first)
        #expect(unknown.kind == .unknown && unknown.direction == .serverToClient && unknown.offset == 47)

        var bad = RFBScript()
        bad.server(ascii("HTTP/1.1 400"))
        let malformed = try #require(problems(bad.parse()).first)
        #expect(malformed.kind == .malformed && malformed.offset == 0)
        #expect(malformed.detail == "not an RFB ProtocolVersion: \"HTTP/1.1 400\"")
    }

    @Test("a security type whose handshake is not followed stops both sides after the choice")
    func unsupportedSecurity() {
        var script = RFBScript()
        script.server(ascii("RFB 003.008\n"))
        script.client(ascii("RFB 003.008\n"))
        script.server([2, 19, 2])
        script.client([19, 0, 2])
        script.server([0, 2, 1, 0])
        let events = script.parse()
        #expect(events.compactMap(\.parsedMessage).last?.message == .securityChoice(RFBSecurityType(rawValue: 19)))
        let found = problems(events)
        #expect(found.map(\.kind) == [.unsupported, .unsupported])
        #expect(Set(found.map(\.direction)) == [.clientToServer, .serverToClient])
        #expect(found.first { $0.direction == .clientToServer }?.offset == 13)
        #expect(found.first { $0.direction == .serverToClient }?.offset == 15)
        #expect(found[0].detail.contains("VeNCrypt (19)"))
    }

    @Test("redacted bytes: an auth response passes, a KeyEvent stops the client side")
    func redacted() {
        var parser = RFBSessionParser()
        var events: [RFBParseEvent] = []
        events += parser.feed(.serverToClient, ascii("RFB 003.008\n") + [1, 2])
        events += parser.feed(.clientToServer, ascii("RFB 003.008\n") + [2])
        events += parser.feed(.serverToClient, [UInt8](repeating: 1, count: 16))
        events += parser.feedRedacted(.clientToServer, count: 16)
        events += parser.feed(.serverToClient, u32(0))
        events += parser.feed(.clientToServer, [1])
        events += parser.feed(.serverToClient, u16(1) + u16(1) + pixelFormat32 + u32(0))
        events += parser.feedRedacted(.clientToServer, count: 8)
        events += parser.feed(.clientToServer, [4, 1, 0, 0] + u32(0x61))
        #expect(events.compactMap(\.parsedMessage).map(\.message.name).contains("VNCAuthResponse"))
        let found = problems(events)
        #expect(found.map(\.kind) == [.redacted])
        #expect(found.first?.offset == 30)
        #expect(parser.isStopped(.clientToServer) && !parser.isStopped(.serverToClient))
        // Without the filler's length (a base64 session) nothing is passed over.
        var base64 = RFBSessionParser()
        _ = base64.feed(.serverToClient, ascii("RFB 003.008\n"))
        #expect(problems(base64.feedRedacted(.clientToServer, count: nil)).map(\.kind) == [.redacted])
    }

    @Test("lost bytes stop a direction where the message they cut began")
    func lost() {
        var parser = RFBSessionParser()
        for event in RFBScript.connected().events { _ = parser.feed(event.direction, event.bytes) }
        _ = parser.feed(.serverToClient, update(1) + rect(0, 0, 2, 2, 0) + [1, 2])
        let events = parser.markLost(.serverToClient, "2 records lost")
        #expect(
            problems(events) == [
                RFBParseProblem(direction: .serverToClient, kind: .lost, offset: 46, detail: "2 records lost")
            ])
        #expect(parser.markLost(.serverToClient, "again").isEmpty)
        #expect(parser.feed(.clientToServer, [4, 1, 0, 0] + u32(0x61)).count == 1, "the other direction goes on")
    }

    @Test("redacted bytes inside pixel data are passed over")
    func redactedInsideSkip() {
        var parser = RFBSessionParser()
        for event in RFBScript.connected().events { _ = parser.feed(event.direction, event.bytes) }
        var events = parser.feed(.serverToClient, update(1) + rect(0, 0, 2, 2, 0) + [1, 2])
        events += parser.feedRedacted(.serverToClient, count: 14)
        events += parser.feed(.serverToClient, [2])
        #expect(events.compactMap(\.parsedMessage).map(\.message.name) == ["FramebufferUpdate", "Bell"])
    }

    @Test("finish reports a message cut short, with where it starts")
    func truncated() throws {
        var cutUpdate = RFBScript.connected()
        cutUpdate.server(update(2) + rect(0, 0, 2, 2, 0) + [UInt8](repeating: 0, count: 16) + rect(0, 0, 2, 2, 0) + [1])
        let inUpdate = try #require(problems(cutUpdate.parse()).first)
        #expect(inUpdate.kind == .truncated && inUpdate.offset == 46)
        #expect(inUpdate.detail.contains("1 of 2 rectangles"))

        var cut = RFBScript.connected()
        cut.client([6, 0, 0, 0] + u32(1000) + [UInt8](repeating: 0x41, count: 300))
        let inCut = try #require(problems(cut.parse()).first)
        #expect(inCut.kind == .truncated && inCut.direction == .clientToServer && inCut.offset == 14)
        #expect(inCut.detail == "the stream ends inside a ClientCutText: 700 bytes missing")

        var key = RFBScript.connected()
        key.client([4, 1, 0])
        #expect(try #require(problems(key.parse()).first).detail == "the stream ends inside a KeyEvent (3 bytes)")

        #expect(problems(RFBScript.connected().parse()).isEmpty, "a clean end reports nothing")
    }
}
