import Foundation
import RFB
import RecordFormat
import RecordTestSupport
import TestSupport
import Testing

@testable import RecordViewer

@Suite struct ViewerLoaderTests {
    /// A file cut short: everything before the cut is shown, and the damage names what was read
    /// last before it.
    @Test func aTruncatedFileShowsWhatIsReadable() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("cut.rec").path
        // Tiny blocks, so that cutting the file keeps the blocks before the cut.
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 1
        let bytes = try writeRecording(ViewerTestSession.records(), to: path, configuration: configuration)
        try Data(bytes.prefix(bytes.count * 3 / 4)).write(to: URL(fileURLWithPath: path))
        let recording = ViewerRecording(path: path)
        ViewerLoader(recording: recording, follow: false).run()
        let summary = try #require(
            JSONSerialization.jsonObject(with: Data(recording.summaryJSON().rendered.utf8)) as? [String: Any])
        let damages = try #require(summary["damages"] as? [[String: Any]])
        #expect(damages.count == 1)
        #expect(damages.first?["kind"] as? String == "truncated")
        #expect(damages.first?["after_session"] as? Int == 1)
        let after = try #require(damages.first?["after_us"] as? Int)
        #expect(after > 0 && after < 8_000_000)
        #expect(summary["reading"] as? Bool == false)
        #expect(recording.withSession(1) { $0.lastTimeMicros } == UInt64(after))
    }

    @Test func aLegacyRecordingIsOneSession() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("legacy.log").path
        let entries = LegacyRecording.entries(from: ViewerTestSession.records(), session: 1)
        try Data(LegacyRecording.render(entries)).write(to: URL(fileURLWithPath: path))
        let recording = ViewerRecording(path: path)
        ViewerLoader(recording: recording, follow: false).run()
        #expect(recording.sessionNumbers == [1])
        #expect(recording.withSession(1) { $0.serverInit?.name } == "test")
        #expect(recording.summaryJSON().rendered.contains("\"format\":\"websockify-legacy\""))
        // A legacy file has no start time: none is shown (rather than 1970).
        #expect(!recording.summaryJSON().rendered.contains("\"start\""))
    }
}
