import RecordFormat
import Testing

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

    @Test func aClientThatNeverSendsTimesOutAndIsReported() {
        let session = makeSession([(0, c2t, bytes("req")), (5, t2c, bytes("answer"))])
        var engine = ReplayEngine(
            session: session, options: .init(waitTimeoutNanos: 1_000 * ms, rfbAware: false), startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 1_000 * ms))
        #expect(engine.next(nowNanos: 1_000 * ms, clientWritable: true) == .send(bytes("answer")))
        #expect(engine.result.divergences.map(\.kind) == [.missing])
    }

    @Test func clientClosedSessionsWaitForTheClientToClose() {
        let session = makeSession([(0, t2c, bytes("x"))], closedBy: .client)
        var engine = ReplayEngine(session: session, options: .init(waitTimeoutNanos: 2_000 * ms), startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .send(bytes("x")))
        // The client's close was recorded at 1 ms: wait until then plus the wait timeout.
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 2_001 * ms))
        #expect(
            engine.next(nowNanos: 2_001 * ms, clientWritable: true) == .close(code: 1000, reason: "replay finished"))
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
