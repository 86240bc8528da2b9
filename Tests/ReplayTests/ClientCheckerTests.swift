import RecordFormat
import Testing

@testable import Replay

struct ClientCheckerTests {
    @Test func bytesMatchRegardlessOfFraming() {
        let session = makeSession([(0, c2t, bytes("hello ")), (1, t2c, bytes("ok")), (2, c2t, bytes("world"))])
        var checker = ClientChecker(session: session, rfb: false)
        #expect(checker.units.count == 2)
        // Sent byte by byte, then in one go: the same stream either way.
        for byte in bytes("hel") { #expect(checker.clientBytes([byte], atMicros: 0).isEmpty) }
        #expect(checker.matchedUnits == 0)
        #expect(checker.clientBytes(bytes("lo w"), atMicros: 0).isEmpty)
        #expect(checker.matchedUnits == 1)
        #expect(checker.clientBytes(bytes("orld"), atMicros: 0).isEmpty)
        #expect(checker.matchedUnits == 2)
        #expect(checker.finish(atMicros: 0).isEmpty)
    }

    @Test func firstDifferingByteIsReportedWithOffsetsRecordAndHex() throws {
        let session = makeSession([(0, c2t, bytes("hello ")), (1, t2c, bytes("ok")), (250, c2t, bytes("world"))])
        var checker = ClientChecker(session: session, rfb: false)
        #expect(checker.clientBytes(bytes("hello wo"), atMicros: 10).isEmpty)
        let found = checker.clientBytes(bytes("Xld"), atMicros: 300_000)
        let d = try #require(found.first)
        #expect(d.kind == .mismatch)
        #expect(d.recordedOffset == 8 && d.actualOffset == 8)
        #expect(d.recordIndex == 3)  // open, hello, ok, world
        #expect(d.recordedTimeMicros == 250_000 && d.actualTimeMicros == 300_000)
        #expect(d.recordedHex == "72 6c 64")
        #expect(d.actualHex == "58 6c 64")
        // One divergence per stream: later bytes are not compared.
        #expect(checker.clientBytes(bytes("zzz"), atMicros: 0).isEmpty)
        #expect(checker.diverged)
    }

    @Test func extraAndMissingBytes() throws {
        let session = makeSession([(0, c2t, bytes("ab"))])
        var extra = ClientChecker(session: session, rfb: false)
        let e = try #require(extra.clientBytes(bytes("abc"), atMicros: 0).first)
        #expect(e.kind == .extra && e.actualOffset == 2)
        var missing = ClientChecker(session: session, rfb: false)
        _ = missing.clientBytes(bytes("a"), atMicros: 0)
        let m = try #require(missing.finish(atMicros: 0).first)
        #expect(m.kind == .missing && m.recordedOffset == 0 && m.actualOffset == 1)
    }

    /// Feeds `checker` the replayed server stream and `client` split at `cuts`.
    func play(_ checker: inout ClientChecker, client: [[UInt8]]) -> [Divergence] {
        var found: [Divergence] = []
        let server = [rfbServerGreeting, rfbSecurityTypes, rfbSecurityResult, rfbServerInit]
        for (i, part) in client.enumerated() {
            if i < server.count { found += checker.serverBytes(server[i], atMicros: 0) }
            found += checker.clientBytes(part, atMicros: 0)
        }
        return found
    }

    @Test func rfbUpdateRequestsAndPointerEventsMayDiffer() {
        let session = rfbSession()
        #expect(session.looksLikeRFB)
        var checker = ClientChecker(session: session, rfb: true)
        #expect(
            checker.units.map(\.name) == [
                "ProtocolVersion", "SecurityChoice", "ClientInit", "SetEncodings", "KeyEvent", "KeyEvent",
            ])
        let found = play(
            &checker,
            client: [
                rfbServerGreeting, [1], [1],
                rfbSetEncodings + fbur(true, 10, 10, 20, 20) + pointer(0, 5, 5) + fbur(true, 0, 0, 1, 1),
                pointer(1, 100, 100) + key(true, 0x61), key(false, 0x61),
            ])
        #expect(found.isEmpty)
        #expect(checker.matchedUnits == 6)
        #expect(checker.freeMessages == 4)
    }

    @Test func rfbKeyEventsMustMatch() throws {
        var checker = ClientChecker(session: rfbSession(), rfb: true)
        let found = play(
            &checker,
            client: [rfbServerGreeting, [1], [1], rfbSetEncodings + fbur(false, 0, 0, 800, 600), key(true, 0x62)])
        let d = try #require(found.first)
        #expect(d.kind == .mismatch)
        #expect(d.message.contains("KeyEvent"))
        #expect(d.recordedOffset == 14 + 12 + 10)
        #expect(d.actualOffset == 14 + 12 + 10)
        #expect(d.recordedHex.hasPrefix("04 01 00 00 00 00 00 61"))
        #expect(d.actualHex.hasPrefix("04 01 00 00 00 00 00 62"))
    }

    @Test func rfbSetEncodingsAndVersionMustMatch() throws {
        var encodings = ClientChecker(session: rfbSession(), rfb: true)
        let found = play(&encodings, client: [rfbServerGreeting, [1], [1], [2, 0, 0, 1, 0, 0, 0, 0]])
        #expect(try #require(found.first).message.contains("SetEncodings"))
        var version = ClientChecker(session: rfbSession(), rfb: true)
        let v = play(&version, client: [bytes("RFB 003.003\n")])
        #expect(try #require(v.first).kind == .mismatch)
    }

    @Test func vncAuthenticationAcceptsAnyResponse() {
        let challenge = [UInt8](repeating: 7, count: 16)
        let session = makeSession([
            (0, t2c, rfbServerGreeting), (1, c2t, rfbServerGreeting), (2, t2c, [1, 2]), (3, c2t, [2]),
            (4, t2c, challenge), (5, c2t, [UInt8](repeating: 0xAA, count: 16)), (6, t2c, rfbSecurityResult),
            (7, c2t, [1]), (8, t2c, rfbServerInit),
        ])
        var checker = ClientChecker(session: session, rfb: true)
        var found: [Divergence] = []
        found += checker.serverBytes(rfbServerGreeting, atMicros: 0)
        found += checker.clientBytes(rfbServerGreeting, atMicros: 0)
        found += checker.serverBytes([1, 2], atMicros: 0)
        found += checker.clientBytes([2], atMicros: 0)
        found += checker.serverBytes(challenge, atMicros: 0)
        found += checker.clientBytes([UInt8](repeating: 0x55, count: 16), atMicros: 0)  // another password
        found += checker.serverBytes(rfbSecurityResult, atMicros: 0)
        found += checker.clientBytes([1], atMicros: 0)
        #expect(found.isEmpty)
        #expect(checker.matchedUnits == checker.units.count)
    }

    @Test func rfbMissingKeysAreReportedAtTheEnd() throws {
        var checker = ClientChecker(session: rfbSession(), rfb: true)
        #expect(play(&checker, client: [rfbServerGreeting, [1], [1], rfbSetEncodings]).isEmpty)
        let d = try #require(checker.finish(atMicros: 0).first)
        #expect(d.kind == .missing && d.message.contains("KeyEvent"))
    }

    @Test func aClientThatIsNotRFBIsReportedWithoutCrashing() {
        // The recording's client never said anything; this one sends garbage.
        let session = makeSession([(0, t2c, rfbServerGreeting)])
        var checker = ClientChecker(session: session, rfb: true)
        #expect(checker.units.isEmpty)
        var found = checker.serverBytes(rfbServerGreeting, atMicros: 0)
        found += checker.clientBytes(bytes("GET / HTTP/1.1\r\n"), atMicros: 0)
        #expect(found.count <= 1)
        #expect(checker.diverged == !found.isEmpty)
    }
}
