import Foundation
import RFB
import RecordFormat
import Testing

@Suite("a real noVNC ↔ x11vnc session parses completely")
struct RFBFixtureTests {
    static func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// The fixture's events, its frames fed whole or a byte at a time; and each side's byte count.
    static func parse(byteAtATime: Bool) throws -> (events: [RFBParseEvent], totals: [RFBDirection: UInt64]) {
        let records = try RecordSource(path: fixturePath("websockify-0.10-session.legacy")).readAll()
        var parser = RFBSessionParser()
        var bytes = FrameBytes(base64: false)
        var events: [RFBParseEvent] = []
        var totals: [RFBDirection: UInt64] = [:]
        for record in records {
            switch record.body {
            case .open(let open):
                bytes = FrameBytes(open)
            case .frame(let frame):
                let direction: RFBDirection = frame.direction == .clientToTarget ? .clientToServer : .serverToClient
                let data = bytes.bytes(of: frame)
                totals[direction, default: 0] += UInt64(data.count)
                for piece in byteAtATime ? data.map({ [$0] }) : [data] { events += parser.feed(direction, piece) }
            case .close:
                events += parser.finish()
            case .marker:
                break
            }
        }
        return (events, totals)
    }

    @Test("every byte of both sides belongs to a message; no problem; the typed command is there")
    func complete() throws {
        let (events, totals) = try Self.parse(byteAtATime: false)
        let problems = events.filter { $0.parsedMessage == nil }
        #expect(problems.isEmpty, "\(problems)")
        for direction in RFBDirection.allCases {
            var offset: UInt64 = 0
            for message in events.compactMap(\.parsedMessage) where message.direction == direction {
                #expect(message.offset == offset, "\(direction) \(message.message.name)")
                offset += message.length
            }
            #expect(
                offset == totals[direction], "\(direction): \(offset) of \(totals[direction] ?? 0) bytes in messages")
        }
        let typed = events.compactMap { event -> String? in
            guard case .keyEvent(true, let keysym) = event.parsedMessage?.message else { return nil }
            return keysym.name
        }
        #expect(typed == ["e", "c", "h", "o", "space", "h", "e", "l", "l", "o", "Return"])
        let names = Set(events.compactMap(\.parsedMessage?.message.name))
        #expect(
            names.isSuperset(of: [
                "ServerInit", "SetPixelFormat", "SetEncodings", "FramebufferUpdate", "PointerEvent", "ServerCutText",
                "ClientCutText",
            ]))
    }

    @Test("fed a byte at a time the fixture gives the same events")
    func byteAtATime() throws {
        #expect(try Self.parse(byteAtATime: true).events == Self.parse(byteAtATime: false).events)
    }
}
