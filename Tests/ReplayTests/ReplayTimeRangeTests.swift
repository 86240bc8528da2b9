import Foundation
import RecordFormat
import Testing
import WebSocketWire

@testable import Replay

/// Pacing with recorded times at the ends of the u64 range (issue 12 §3): nothing traps, nothing
/// waits for ever on a time that came from a damaged file.
struct ReplayTimeRangeTests {
    let ms: UInt64 = 1_000_000
    static let extremeTimes: [UInt64] = [
        0x7fff_ffff_ffff_ff00, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff,
    ]

    @Test("due() saturates at 'never' instead of trapping, for any time and speed", arguments: extremeTimes)
    func dueSaturates(time: UInt64) {
        for speed in [1.0, 0.5, 1e-300, 1e300] {
            let s = ReplayScheduler(
                items: [.init(timeMicros: time)], pacing: .speed(speed), syncToClient: false,
                waitTimeoutNanos: 10_000 * ms, startNanos: 1_000 * ms)
            let due = s.due(time)
            #expect(speed == 1e300 ? due >= 1_000 * ms : due == .max, "speed \(speed)")
        }
        let fast = ReplayScheduler(
            items: [.init(timeMicros: time)], pacing: .fast, syncToClient: false, waitTimeoutNanos: 0, startNanos: 7)
        #expect(fast.due(time) == 7)
    }

    @Test("waiting for a client message recorded at a time out of range gives up instead of trapping")
    func clientDeadlineSaturates() {
        var s = ReplayScheduler(
            items: [.init(timeMicros: 0xffff_ffff_ffff_ffff, requiredUnits: 1, requiredAtMicros: 0xffff_ffff_ffff_fff0)],
            pacing: .speed(1), syncToClient: true, waitTimeoutNanos: 10_000 * ms, startNanos: 0)
        #expect(s.next(nowNanos: 0, clientUnits: 0, clientWritable: true) == .waitForClient(required: 1, untilNanos: .max))
    }

    @Test("a recording with times out of range plays them right after the record before them", arguments: extremeTimes)
    func loadPlacesLateRecords(time: UInt64) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-times-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("late.rec").path
        let writer = try RecordFileWriter(path: path)
        let open = SessionOpen(startWallMicros: 1_764_000_000_000_000, subprotocol: "binary")
        for record in [
            Record(session: 1, timeMicros: 0, body: .open(open)),
            Record(session: 1, timeMicros: 1_000, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [1]))),
            Record(session: 1, timeMicros: 2_000, body: .frame(Frame(direction: .clientToTarget, opcode: .binary, payload: [2]))),
            Record(session: 1, timeMicros: time, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [3]))),
            Record(session: 1, timeMicros: time, body: .close(SessionClose(closedBy: .target, code: 1000))),
        ] {
            try writer.append(record)
        }
        try writer.close()
        let recording = try Recording.load(path: path)
        let session = try #require(recording.sessions.first)
        #expect(session.events.map(\.timeMicros) == [1_000, 2_000, 2_000])
        #expect(session.ending?.timeMicros == 2_000)
        #expect(recording.timeProblems.count == 1)
        #expect(recording.timeProblems.first?.contains("session 1, record 3 of the block: time \(time) µs") == true)

        // Played in real time, the late frame and the close are due at once.
        var engine = ReplayEngine(session: session, options: .init(pacing: .speed(1)), startNanos: 0)
        #expect(engine.next(nowNanos: 1 * ms, clientWritable: true) == .send([1]))
        engine.clientData([2], nowNanos: 2 * ms)
        #expect(engine.next(nowNanos: 2 * ms, clientWritable: true) == .send([3]))
        #expect(engine.next(nowNanos: 2 * ms, clientWritable: true) == .close(code: 1000, reason: ""))
        let report = ReplayReport(file: path, format: recording.format)
        var withProblems = report
        withProblems.timeProblems = recording.timeProblems
        #expect(report.exitCode == 0)
        #expect(withProblems.exitCode == 3)
    }
}
