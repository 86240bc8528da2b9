import RecordFormat
import Testing
import WebSocketWire

@testable import Replay

/// A session that goes on from an earlier file of a rotated recording (docs/record-format.md §7.1)
/// starts at its open record's time, not at 0: played from 0 it would open with that much silence.
struct ReplayContinuedSessionTests {
    let ms: UInt64 = 1_000_000

    @Test func theClockStartsAtTheSessionsStartTime() {
        var s = ReplayScheduler(
            items: [.init(timeMicros: 20_001_000), .init(timeMicros: 20_101_000)], pacing: .speed(1),
            syncToClient: false, waitTimeoutNanos: 1_000 * ms, startNanos: 5_000 * ms, startMicros: 20_000_000)
        #expect(s.next(nowNanos: 5_000 * ms, clientUnits: 0, clientWritable: true) == .sleep(untilNanos: 5_001 * ms))
        #expect(
            s.next(nowNanos: 5_001 * ms, clientUnits: 0, clientWritable: true)
                == .send(index: 0, scheduledNanos: 5_001 * ms))
        #expect(
            s.next(nowNanos: 5_101 * ms, clientUnits: 0, clientWritable: true)
                == .send(index: 1, scheduledNanos: 5_101 * ms))
    }

    @Test func aContinuedSessionIsPlayedWithoutItsOffsetAsSilence() throws {
        let open = SessionOpen(startWallMicros: 1_764_000_000_000_000, subprotocol: "binary")
        let records = [
            Record(session: 4, timeMicros: 20_000_000, body: .open(open)),
            Record(
                session: 4, timeMicros: 20_001_000,
                body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: bytes("late")))),
            Record(session: 4, timeMicros: 20_002_000, body: .open(open)),
        ]
        let session = try #require(RecordedSession.sessions(from: records).first)
        #expect(session.startMicros == 20_000_000, "the first open record's time; a later one does not move it")
        var engine = ReplayEngine(session: session, options: .init(pacing: .speed(1)), startNanos: 0)
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .wait(untilNanos: 1 * ms))
        #expect(engine.next(nowNanos: 1 * ms, clientWritable: true) == .send(bytes("late")))
        let fresh = try #require(
            RecordedSession.sessions(from: [Record(session: 1, timeMicros: 0, body: .open(open))] + records.dropFirst())
                .first)
        #expect(fresh.startMicros == 0)
    }
}
