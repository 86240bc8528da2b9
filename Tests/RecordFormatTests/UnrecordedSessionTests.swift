import Foundation
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordFormat

/// Per-session recording whose session file cannot be made (review #8): the records are counted
/// in the recorder's statistics (and so in websockify_recording_dropped_records_total), not lost
/// without a trace.
@Suite("Recording files: sessions that got no file")
struct UnrecordedSessionTests {
    @Test("records of a session whose file cannot be created count as dropped and as without a file")
    func countedAsDropped() throws {
        let base = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: base) }
        let dir = base.appendingPathComponent("sessions")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: false)
        let failures = EventCount()
        let recorder = try BackgroundRecorder(
            layout: .perSession(directory: dir.path), onEvent: { if case .writeFailed = $0 { failures.add() } })
        // The directory goes away after start-up: no session file can be made any more.
        try FileManager.default.removeItem(at: dir)
        let open = SessionOpen(startWallMicros: 1_764_000_000_000_000, requestPath: "/?token=desk")
        let frame = Frame(direction: .targetToClient, opcode: .binary, payload: [1, 2, 3])
        #expect(recorder.submit(Record(session: 1, timeMicros: 0, body: .open(open))))
        #expect(recorder.submit(Record(session: 1, timeMicros: 10, body: .frame(frame))))
        #expect(recorder.submit(Record(session: 1, timeMicros: 20, body: .close(SessionClose(closedBy: .client)))))
        recorder.close()
        let statistics = recorder.statistics
        #expect(statistics.recordsWithoutFile == 3)
        #expect(statistics.recordsDropped == 3)
        #expect(failures.count >= 1, "the creation error is reported (and logged by websockify)")
    }

    final class EventCount: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func add() { lock.withLock { value += 1 } }
        var count: Int { lock.withLock { value } }
    }
}
