import Foundation
import RFBDecoding
import RecordTestSupport
import TestSupport
import Testing

@testable import RecordViewer

@Suite struct ViewerRedactionTests {
    /// `--record-redact=auth`: the viewer's screen (what its keyframes and seeks are made of) is the
    /// same as for the session recorded without redaction, not a screen lost at the password.
    @Test func aRedactedPasswordSessionShowsTheSameScreen() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func load(_ name: String, _ authentication: SyntheticSession.Authentication) throws -> ViewerRecording {
            let path = directory.appendingPathComponent(name).path
            try SyntheticSession.write(to: path, steps: 12, authentication: authentication)
            let recording = ViewerRecording(path: path)
            ViewerLoader(recording: recording, follow: false).run()
            return recording
        }
        let plain = try load("pw.rec", .password)
        let redacted = try load("red.rec", .redactedPassword)
        let expected = try #require(plain.withSession(1) { $0.framebuffer } ?? nil)
        #expect(expected.pixels.contains { $0 & 0x00FF_FFFF != 0 }, "the unredacted session draws something")
        #expect(redacted.withSession(1) { $0.framebuffer } == expected)
        #expect(redacted.withSession(1) { $0.decodeProblems.filter { $0.kind != .notDecoded } }?.isEmpty == true)
    }
}
