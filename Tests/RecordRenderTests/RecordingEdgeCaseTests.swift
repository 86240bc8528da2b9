import Foundation
import RFBDecoding
import RecordRender
import RecordTestSupport
import TestSupport
import Testing

/// Recordings that are unusual but readable: a redacted password, a time out of range.
@Suite struct RecordingEdgeCaseTests {
    static func recording(_ name: String, in directory: URL, _ write: (String) throws -> Void) rethrows -> String {
        let path = directory.appendingPathComponent(name).path
        try write(path)
        return path
    }

    /// `--record-redact=auth`: the 16 bytes of the VNC authentication response are filler. The
    /// session draws exactly as the same session recorded without redaction.
    @Test func aRedactedPasswordSessionDrawsLikeTheUnredactedOne() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = try Self.recording("pw.rec", in: directory) {
            try SyntheticSession.write(to: $0, steps: 12, authentication: .password)
        }
        let redacted = try Self.recording("red.rec", in: directory) {
            try SyntheticSession.write(to: $0, steps: 12, authentication: .redactedPassword)
        }
        let original = try SessionPlayback(path: plain, session: 1)
        let played = try SessionPlayback(path: redacted, session: 1)
        for micros: UInt64 in [8_000, 1_250_000, 4_000_000, 6_100_000] {
            let screen = try #require(try played.screen(at: micros), "a screen at \(micros)")
            #expect(screen == (try original.screen(at: micros)), "at \(micros)")
        }
        #expect(try SessionPlaybackTests.colour(played.screen(at: 6_100_000)) == SyntheticSession.colour(12))
        #expect(played.notes.isEmpty, "\(played.notes)")
    }

    /// One record at 2^63 µs (docs/record-format.md §4.3.1): placed at the time of the record
    /// before it and reported; the session still ends at its close record, so a series ends there.
    @Test func aTimeOutOfRangeIsPlacedAtThePreviousRecordsTime() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.recording("late.rec", in: directory) {
            try SyntheticSession.write(to: $0, steps: 8, outOfRangeAfter: 3)
        }
        let playback = try SessionPlayback(path: path, session: 1)
        #expect(try playback.lastTime() == 4_200_000)
        struct TooMany: Error {}
        var moments: [UInt64] = []
        try playback.forEach(.init(everyMicros: 1_000_000)) { micros, _ in
            moments.append(micros)
            if moments.count > 100 { throw TooMany() }
        }
        #expect(moments == [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000])
        #expect(try SessionPlaybackTests.colour(playback.screen(at: 4_200_000)) == SyntheticSession.colour(8))
        #expect(playback.notes.map(\.text).contains { $0.contains("out of range") && $0.contains("9223372036854775808") })
    }
}
