import Foundation
import RecordFormat
import Testing

@testable import Replay

struct RecordingTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/websockify-0.10-session.legacy").standardized.path

    @Test func legacyFixtureLoadsAsOneRFBSession() throws {
        let recording = try Recording.load(path: Self.fixture)
        #expect(recording.format == "websockify-legacy")
        #expect(recording.damages.isEmpty)
        let session = try #require(recording.sessions.first)
        #expect(recording.sessions.count == 1)
        #expect(session.looksLikeRFB)
        #expect(session.stream(.targetToClient).count == 3037)
        let checker = ClientChecker(session: session, rfb: true)
        // Version, security, ClientInit, SetPixelFormat, SetEncodings, one more, and 22 KeyEvents.
        #expect(checker.units.count == 28)
        #expect(checker.units.filter { $0.name == "KeyEvent" }.count == 22)
    }

    @Test func aMissingFileIsAnIOError() {
        #expect(throws: Recording.LoadError.self) { try Recording.load(path: "/nonexistent/x.rec") }
    }

    @Test func aTruncatedLegacyFileKeepsWhatWasReadAndSaysSo() throws {
        let text = try String(contentsOfFile: Self.fixture, encoding: .utf8)
        let cut = String(text.prefix(text.utf8.count / 2))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("replay-cut-\(getpid()).legacy").path
        try cut.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recording = try Recording.load(path: path)
        #expect(!recording.damages.isEmpty)
        try #require(recording.sessions.count == 1)
        #expect(recording.sessions[0].events.count > 3)
    }
}
