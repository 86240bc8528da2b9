import Foundation
import Testing

@testable import Replay

struct ReplayReportTests {
    @Test func latencyPercentilesAreNearestRank() throws {
        let samples = (1...100).map { UInt64($0) * 1_000_000 }
        let l = try #require(ReplayReport.Lateness(nanos: samples))
        #expect(l.frames == 100 && l.p50Millis == 50 && l.p99Millis == 99 && l.maxMillis == 100)
        #expect(ReplayReport.Lateness(nanos: []) == nil)
    }

    @Test func exitCodes() {
        var report = ReplayReport(file: "f", format: "websockify-swift")
        #expect(report.exitCode == 0)
        // Served and stopped before any client came: nothing was checked, which is no pass.
        report.noClient = true
        #expect(report.exitCode == 1)
        #expect(report.summary().hasSuffix("result: no client connected, nothing was checked"))
        report.noClient = false
        var s = SessionResult(
            session: 1, rfb: false, recordedTargetBytes: 0, recordedTargetFrames: 0, recordedClientBytes: 0,
            expectedClientUnits: 0)
        s.divergences = [Divergence(session: 1, kind: .mismatch, stream: "client", message: "m")]
        report.sessions = [s]
        #expect(report.exitCode == 1)
        report.damages = ["truncated"]
        #expect(report.exitCode == 3)
        report.error = "cannot read"
        #expect(report.exitCode == 2)
    }

    @Test func jsonNamesSessionsTotalsDivergencesAndLateness() throws {
        var s = SessionResult(
            session: 2, rfb: true, recordedTargetBytes: 10, recordedTargetFrames: 2, recordedClientBytes: 5,
            expectedClientUnits: 1)
        s.framesSent = 2
        s.bytesSent = 10
        s.framesReceived = 1
        s.bytesReceived = 4
        s.latenessNanos = [1_000_000, 3_000_000]
        s.divergences = [
            Divergence(
                session: 2, kind: .mismatch, stream: "client", message: "differs", recordedOffset: 3, actualOffset: 3,
                recordIndex: 4, recordedTimeMicros: 10, actualTimeMicros: 20, recordedHex: "61", actualHex: "62")
        ]
        let report = ReplayReport(file: "x.rec", format: "websockify-swift", sessions: [s])
        let object = try #require(JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any])
        #expect(object["sessions_played"] as? Int == 1)
        #expect(object["frames_sent"] as? Int == 2)
        #expect(object["bytes_received"] as? Int == 4)
        #expect(object["exit_code"] as? Int == 1)
        let lateness = try #require(object["lateness"] as? [String: Any])
        #expect(lateness["p50_millis"] as? Double == 1)
        #expect(lateness["max_millis"] as? Double == 3)
        let divergence = try #require((object["divergences"] as? [[String: Any]])?.first)
        #expect(divergence["recorded_offset"] as? Int == 3)
        #expect(divergence["record_index"] as? Int == 4)
        #expect(divergence["actual_hex"] as? String == "62")
        #expect(report.summary().contains("recorded: offset 3, record #4"))
    }
}

/// The report's RFB additions: the rules in force, the counts, and the divergences' classes.
struct ReplayReportRFBTests {
    @Test func rulesCountsAndClassesAreInTheSummaryAndTheJSON() throws {
        var report = ReplayReport(file: "f.rec", format: "websockify-swift")
        report.rules = ["allow (superset) SetEncodings"]
        var s = SessionResult(
            session: 1, rfb: true, recordedTargetBytes: 0, recordedTargetFrames: 0, recordedClientBytes: 0,
            expectedClientUnits: 3)
        s.checkedClientMessages = 3
        s.sameClientMessages = 1
        s.allowedClientMessages = 1
        s.heldBackFrames = 4
        var d = Divergence(session: 1, kind: .mismatch, stream: "client", message: "expected A, got B at client offset 9")
        d.change = .changed
        d.recordedMessage = "KeyEvent 'o' (0x6f) down"
        d.actualMessage = "KeyEvent 'p' (0x70) down"
        d.clientMessage = 7
        s.divergences = [d]
        report.sessions = [s]
        let summary = report.summary()
        #expect(summary.contains("rules: allow (superset) SetEncodings"))
        #expect(summary.contains("client messages checked 3: 1 same, 1 allowed, 0 free"))
        #expect(summary.contains("divergence (changed, client stream): expected A, got B at client offset 9"))
        #expect(summary.contains("recorded: client message #7 KeyEvent 'o' (0x6f) down"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(json["rules"] as? [String] == ["allow (superset) SetEncodings"])
        let divergence = try #require((json["divergences"] as? [[String: Any]])?.first)
        #expect(divergence["kind"] as? String == "mismatch" && divergence["change"] as? String == "changed")
        #expect(divergence["client_message"] as? Int == 7)
        #expect(divergence["actual_message"] as? String == "KeyEvent 'p' (0x70) down")
        let session = try #require((json["sessions"] as? [[String: Any]])?.first)
        #expect(session["held_back_frames"] as? Int == 4 && session["allowed_client_messages"] as? Int == 1)
    }
}
