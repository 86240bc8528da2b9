import RFBRules
import RecordFormat
import Testing
import WebSocketWire

@testable import Replay

struct ReplayEngineTests {
    let ms: UInt64 = 1_000_000

    @Test func playsWaitsForTheClientAndEndsWithTheRecordedClose() {
        let session = makeSession(
            [(0, t2c, bytes("hi")), (10, c2t, bytes("req")), (30, t2c, bytes("answer"))], closedBy: .target, code: 4001)
        var engine = ReplayEngine(session: session, options: .init(rfbAware: false), startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .send(bytes("hi")))
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 10_010 * ms))
        engine.clientData(bytes("re"), nowNanos: 50 * ms)
        #expect(engine.next(nowNanos: 50 * ms, clientWritable: true) == .wait(untilNanos: 10_010 * ms))
        engine.clientData(bytes("q"), nowNanos: 60 * ms)
        // The client was 50 ms late: the answer keeps its recorded 20 ms after the request.
        #expect(engine.next(nowNanos: 60 * ms, clientWritable: true) == .wait(untilNanos: 80 * ms))
        #expect(engine.next(nowNanos: 79 * ms, clientWritable: true) == .wait(untilNanos: 80 * ms))
        #expect(engine.next(nowNanos: 80 * ms, clientWritable: true) == .send(bytes("answer")))
        // The close was recorded 1 ms after the last frame: due at 81 ms on the moved anchor.
        #expect(engine.next(nowNanos: 80 * ms, clientWritable: true) == .wait(untilNanos: 81 * ms))
        #expect(engine.next(nowNanos: 81 * ms, clientWritable: true) == .close(code: 4001, reason: ""))
        #expect(engine.next(nowNanos: 82 * ms, clientWritable: true) == .done)
        engine.ended(clientClosed: false, code: 4001, nowNanos: 90 * ms)
        #expect(engine.result.divergences.isEmpty)
        #expect(engine.result.framesSent == 2 && engine.result.bytesSent == 8)
        #expect(engine.result.bytesReceived == 3)
        #expect(engine.result.latenessNanos == [0, 0])
    }

    @Test func aClientThatNeverSendsTimesOutAndWhatFollowsIsNotPlayed() {
        let session = makeSession([(0, c2t, bytes("req")), (5, t2c, bytes("answer"))], closedBy: .target)
        var engine = ReplayEngine(
            session: session, options: .init(waitTimeoutNanos: 1_000 * ms, rfbAware: false, holdTimeoutNanos: 500 * ms),
            startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 1_000 * ms))
        // The answer to a request that never came is not sent, and the target's close is not played
        // either: the session is held for the client.
        #expect(engine.next(nowNanos: 1_000 * ms, clientWritable: true) == .wait(untilNanos: 1_500 * ms))
        #expect(engine.result.divergences.map(\.kind) == [.missing])
        engine.ended(clientClosed: true, code: 1000, nowNanos: 1_200 * ms)
        #expect(engine.result.framesSent == 0 && engine.result.heldBackFrames == 1)
        #expect(engine.result.divergences.count == 1, "the frames held back are a consequence, noted")
        #expect(engine.result.notes.contains { $0.hasPrefix("1 recorded target frames (from offset 0, record #2) were not sent") })
    }

    @Test func withSyncByTimeAMissingRequestDoesNotHoldTheAnswer() {
        let session = makeSession([(0, c2t, bytes("req")), (5, t2c, bytes("answer"))])
        var engine = ReplayEngine(
            session: session, options: .init(pacing: .fast, syncToClient: false, rfbAware: false), startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .send(bytes("answer")))
    }

    @Test func clientClosedSessionsAreHeldUntilTheClientClosesOrTheHoldTimeout() {
        let session = makeSession([(0, t2c, bytes("x"))], closedBy: .client)
        var engine = ReplayEngine(
            session: session, options: .init(waitTimeoutNanos: 1_000 * ms, holdTimeoutNanos: 2_000 * ms), startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .send(bytes("x")))
        // The client's close was recorded at 1 ms: hold until then plus the hold timeout.
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 2_001 * ms))
        #expect(
            engine.next(nowNanos: 2_001 * ms, clientWritable: true) == .close(code: 1000, reason: "replay finished"))
        #expect(engine.result.notes.contains("the client did not close within 2.000 s after the last frame; closing with 1000"))
    }

    @Test func aRecordingThatDoesNotSayWhoClosedIsHeldAndCloseAtEndClosesIt() {
        let session = makeSession([(0, t2c, bytes("x"))], closedBy: nil)
        #expect(session.ending == nil)
        var held = ReplayEngine(session: session, options: .init(holdTimeoutNanos: 3_000 * ms), startNanos: 0)
        #expect(held.next(nowNanos: 0, clientWritable: true) == .send(bytes("x")))
        #expect(held.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 3_000 * ms))
        held.ended(clientClosed: true, code: 1000, nowNanos: 100 * ms)
        #expect(held.result.divergences.isEmpty && held.result.closedByClient)
        var closing = ReplayEngine(session: session, options: .init(closeAtEnd: true), startNanos: 0)
        #expect(closing.next(nowNanos: 0, clientWritable: true) == .send(bytes("x")))
        #expect(closing.next(nowNanos: 0, clientWritable: true) == .close(code: 1000, reason: ""))
    }

    @Test func theTargetsCloseIsPlayedWhereItWasRecorded() {
        let session = makeSession([(0, t2c, bytes("x"))], closedBy: .target, code: 4000)
        var engine = ReplayEngine(session: session, options: .init(), startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .send(bytes("x")))
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 1 * ms))
        #expect(engine.next(nowNanos: 1 * ms, clientWritable: true) == .close(code: 4000, reason: ""))
    }

    @Test func anRFBClientThatDropsAKeyGetsNothingRecordedAfterIt() throws {
        // Keys 'a' then 'b', each followed by the server's echo (an empty update).
        let session = makeSession(
            [
                (0, t2c, rfbServerGreeting), (5, c2t, rfbServerGreeting), (6, t2c, rfbSecurityTypes), (7, c2t, [1]),
                (8, t2c, rfbSecurityResult), (9, c2t, [1]), (10, t2c, rfbServerInit), (11, c2t, rfbSetEncodings),
                (100, c2t, key(true, 0x61) + key(false, 0x61)), (120, t2c, [0, 0, 0, 0]),
                (200, c2t, key(true, 0x62) + key(false, 0x62)), (220, t2c, [0, 0, 0, 0]),
            ], closedBy: .client)
        var engine = ReplayEngine(
            session: session, options: .init(pacing: .fast, waitTimeoutNanos: 1_000 * ms), startNanos: 0)
        var sent = 0
        func pump(_ now: UInt64) -> ReplayEngine.Action {
            while true {
                let action = engine.next(nowNanos: now, clientWritable: true)
                guard case .send = action else { return action }
                sent += 1
            }
        }
        #expect(pump(0) == .wait(untilNanos: 1_000 * ms))
        for part in [rfbServerGreeting, [1], [1] + rfbSetEncodings] {
            engine.clientData(part, nowNanos: 10 * ms)
            _ = pump(10 * ms)
        }
        #expect(sent == 4)
        // 'a' is dropped, 'b' is typed: 'b' is checked, but nothing after 'a' is played.
        engine.clientData(key(true, 0x62) + key(false, 0x62), nowNanos: 20 * ms)
        let waiting = pump(20 * ms)
        guard case .wait(let until) = waiting else {
            Issue.record("expected to wait for 'a', got \(waiting)")
            return
        }
        let held = pump(until)
        #expect(sent == 4, "\(held)")
        #expect(held == .wait(untilNanos: until + ReplayEngine.Options.defaultHoldTimeoutNanos))
        engine.ended(clientClosed: true, code: 1000, nowNanos: 2_000 * ms)
        let result = engine.result
        #expect(result.heldBackFrames == 2)
        #expect(result.divergences.map(\.change) == [.missing, .missing])
        #expect(result.divergences.first?.message.hasPrefix("expected KeyEvent 'a' (0x61) down, got nothing (not within 1.000 s)") == true)
        #expect(result.sameClientMessages == 6, "ProtocolVersion, SecurityChoice, ClientInit, SetEncodings and 'b' down and up")
    }

    @Test func base64SessionsAreDecoded() throws {
        var records: [Record] = [
            Record(session: 3, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 0, subprotocol: "base64")))
        ]
        records.append(
            Record(
                session: 3, timeMicros: 1, body: .frame(Frame(direction: t2c, opcode: .text, payload: bytes("aGk=")))))
        let session = try #require(RecordedSession.sessions(from: records).first)
        #expect(session.number == 3)
        #expect(session.stream(t2c) == bytes("hi"))
    }
}

/// A recorded client message the rules let be missing does not hold back what follows it, and the
/// replay goes on waiting for the client's later messages.
struct ReplayEngineAllowedMissingTests {
    let ms: UInt64 = 1_000_000

    @Test func anAllowedMissingMessageTimesOutWithoutDivergenceAndSyncResumes() throws {
        let cutText: [UInt8] = [6, 0, 0, 0, 0, 0, 0, 2] + bytes("hi")
        let session = makeSession(
            [
                (0, t2c, rfbServerGreeting), (1, c2t, rfbServerGreeting), (2, t2c, rfbSecurityTypes), (3, c2t, [1]),
                (4, t2c, rfbSecurityResult), (5, c2t, [1]), (6, t2c, rfbServerInit), (7, c2t, rfbSetEncodings),
                (10, c2t, cutText), (20, t2c, [2]), (30, c2t, key(true, 0x61)), (40, t2c, [2]),
            ], closedBy: .client)
        var engine = ReplayEngine(
            session: session,
            options: .init(pacing: .fast, waitTimeoutNanos: 1_000 * ms, rules: try RFBRuleSet.parse(allow: ["ClientCutText"])),
            startNanos: 0)
        var sent = 0
        func pump(_ now: UInt64) -> ReplayEngine.Action {
            while true {
                let action = engine.next(nowNanos: now, clientWritable: true)
                guard case .send = action else { return action }
                sent += 1
            }
        }
        _ = pump(0)
        for part in [rfbServerGreeting, [1], [1] + rfbSetEncodings] {
            engine.clientData(part, nowNanos: 0)
            _ = pump(0)
        }
        #expect(sent == 4)
        // No cut text: after the wait the Bell recorded after it is played, then the replay waits
        // for the key again instead of playing on by the clock.
        let afterTimeout = pump(5_000 * ms)
        #expect(sent == 5)
        guard case .wait = afterTimeout else {
            Issue.record("expected to wait for the key, got \(afterTimeout)")
            return
        }
        #expect(engine.scheduler.syncToClient)
        engine.clientData(key(true, 0x61), nowNanos: 5_100 * ms)
        _ = pump(5_100 * ms)
        #expect(sent == 6)
        engine.ended(clientClosed: true, code: 1000, nowNanos: 6_000 * ms)
        #expect(engine.result.divergences.isEmpty, "\(engine.result.divergences.map(\.message))")
        #expect(engine.result.allowedClientMessages == 1)
    }
}
