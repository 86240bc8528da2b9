import Foundation
import Testing
import WebSocketWire

@testable import RecordFormat
@testable import Replay

/// A recording gap that lost `client` and `target` payload bytes (one frame each, when non-zero) of `session`.
func gapLosing(session: UInt32, client: UInt64, target: UInt64, at time: UInt64) -> RecordGap {
    let loss = RecordGap.SessionLoss(
        session: session, records: (client > 0 ? 1 : 0) + (target > 0 ? 1 : 0),
        clientToTarget: .init(frames: client > 0 ? 1 : 0, bytes: client),
        targetToClient: .init(frames: target > 0 ? 1 : 0, bytes: target), firstTimeMicros: time,
        lastTimeMicros: time, firstWallMicros: 1_764_000_000_000_000 + Int64(time),
        lastWallMicros: 1_764_000_000_000_000 + Int64(time))
    return RecordGap(
        causes: .writeFailed, detail: "No space left on device", records: loss.records, payloadBytes: client + target,
        firstWallMicros: loss.firstWallMicros, lastWallMicros: loss.lastWallMicros, sessions: [loss])
}

struct ReplayGapTests {
    let records: [Record] = [
        Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1_764_000_000_000_000))),
        Record(
            session: 1, timeMicros: 10, body: .frame(Frame(direction: c2t, opcode: .binary, payload: bytes("hello ")))),
        Record(session: 1, timeMicros: 20, body: .frame(Frame(direction: t2c, opcode: .binary, payload: bytes("ok")))),
        // The gap goes here: "lost!" from the client and 1000 target bytes.
        Record(
            session: 1, timeMicros: 40, body: .frame(Frame(direction: c2t, opcode: .binary, payload: bytes("world")))),
        Record(session: 1, timeMicros: 50, body: .frame(Frame(direction: t2c, opcode: .binary, payload: bytes("bye")))),
        Record(session: 1, timeMicros: 60, body: .close(SessionClose(closedBy: .target, code: 1000))),
    ]

    @Test func aGapSitsAtTheStreamOffsetsWhereItsRecordsWereLost() throws {
        let gaps = [
            (recordIndex: 3, gap: gapLosing(session: 1, client: 5, target: 1000, at: 30)),
            (recordIndex: 6, gap: gapLosing(session: 9, client: 0, target: 7, at: 1)),
        ]
        let sessions = RecordedSession.sessions(from: records, gaps: gaps)
        #expect(sessions.map(\.number) == [1], "a session the recording lost entirely is not played")
        let gap = try #require(sessions.first?.gaps.first)
        #expect(sessions.first?.gaps.count == 1)
        #expect(gap.clientOffset == 6 && gap.targetOffset == 2 && gap.recordIndex == 3)
        #expect(gap.loss.targetToClient.bytes == 1000)
        #expect(gap.cause == "a block could not be written: No space left on device")
    }

    @Test func clientBytesAfterAGapThatLostClientBytesAreNotChecked() throws {
        let session = RecordedSession.sessions(
            from: records, gaps: [(3, gapLosing(session: 1, client: 5, target: 0, at: 30))])[0]
        var checker = ClientChecker(session: session, rfb: false)
        #expect(checker.units.count == 1, "only the client frame before the gap is expected")
        #expect(checker.notes.contains { $0.contains("lost 5 client bytes (1 frames) at offset 6") })
        // The real client sends what the recording lost, then what it has: neither is a divergence.
        #expect(checker.clientBytes(bytes("hello lost!world"), atMicros: 0).isEmpty)
        #expect(checker.matchedUnits == 1)
        #expect(checker.finish(atMicros: 0).isEmpty)
        // Without the gap the same client diverges: the check is real.
        var strict = ClientChecker(session: RecordedSession.sessions(from: records)[0], rfb: false)
        #expect(strict.clientBytes(bytes("hello lost!world"), atMicros: 0).first?.kind == .mismatch)
    }

    @Test func aTargetGapIsPlayedAroundAndNoted() {
        let session = RecordedSession.sessions(
            from: records, gaps: [(3, gapLosing(session: 1, client: 0, target: 1000, at: 30))])[0]
        let engine = ReplayEngine(session: session, options: .init(pacing: .fast), startNanos: 0)
        #expect(engine.result.notes.contains { $0.contains("lost 1000 target bytes (1 frames) at offset 2") })
        #expect(engine.checker.units.count == 2, "the client stream is complete: checked to its end")
    }

    @Test func aFileWithAGapLoadsWithItAndTheReportSaysSoWithoutChangingTheExitCode() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "replay-gap-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gap.rec").path
        let writer = try RecordFileWriter(path: path)
        for record in records.prefix(3) { try writer.append(record) }
        var tally = RecordLossTally()
        tally.add(session: 1, timeMicros: 30, wallMicros: 0, frame: (t2c, 1000), cause: .queueFull)
        try writer.noteLost(tally)
        for record in records.dropFirst(3) { try writer.append(record) }
        try writer.close()

        let recording = try Recording.load(path: path)
        #expect(recording.damages.isEmpty)
        #expect(recording.gaps.count == 1)
        #expect(
            recording.gaps.first?.hasPrefix("1 record / 1000 bytes of session 1 lost at 2025-11-24T16:00:00.000030Z")
                == true)
        let session = try #require(recording.sessions.first)
        #expect(session.gaps.map(\.targetOffset) == [2])
        #expect(session.stream(.targetToClient) == bytes("okbye"))

        var report = ReplayReport(file: path, format: recording.format)
        report.gaps = recording.gaps
        #expect(report.exitCode == 0, "a gap does not change the result")
        #expect(report.summary().contains("recording gap: 1 record / 1000 bytes of session 1 lost at"))
        #expect(report.summary().contains("; played around it"))
        let object = try #require(JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any])
        #expect((object["gaps"] as? [String])?.count == 1)
        #expect(object["exit_code"] as? Int == 0)
    }
}
