import Foundation
import RFBDecoding
import RecordRender
import RecordTestSupport
import TestSupport
import Testing

@Suite struct SessionPlaybackTests {
    /// The colour of the whole screen in `screen`, failing when it is not one colour.
    static func colour(_ screen: RFBFramebuffer?) throws -> UInt32 {
        let screen = try #require(screen)
        let first = try #require(screen.pixels.first)
        #expect(screen.pixels.allSatisfy { $0 == first }, "the screen is one colour")
        return first
    }

    static func recording(steps: Int = 40) throws -> (URL, String) {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("session.rec").path
        try SyntheticSession.write(to: path, steps: steps)
        return (directory, path)
    }

    @Test func eachMomentShowsTheLastUpdateAtOrBeforeIt() throws {
        let (directory, path) = try Self.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        let playback = try SessionPlayback(path: path, session: 1)
        #expect(try playback.screen(at: 0) == nil, "nothing before ServerInit")
        #expect(try Self.colour(playback.screen(at: 8_000)) == 0, "ServerInit's screen is black")
        for (micros, step) in [(500_000, 1), (999_999, 1), (1_000_000, 2), (7_250_000, 14), (19_999_000, 39)] {
            #expect(try Self.colour(playback.screen(at: UInt64(micros))) == SyntheticSession.colour(step), "at \(micros)")
        }
        // Back in time: decoded again.
        #expect(try Self.colour(playback.screen(at: 2_600_000)) == SyntheticSession.colour(5))
        #expect(try playback.lastTime() == 20_200_000)
        #expect(playback.notes.isEmpty, "\(playback.notes)")
    }

    @Test func keyframesArePlacedAnIntervalApartAndALateMomentDecodesFromTheLastOne() throws {
        let (directory, path) = try Self.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        let playback = try SessionPlayback(path: path, session: 1, keyframes: KeyframeOptions(intervalMicros: 2_000_000, cache: .none))
        _ = try playback.screen(at: 30_000_000)
        let total = playback.recordsDecoded
        // Updates every 0.5 s from 0.5 s to 20 s: a keyframe at the first record 2 s after the last one.
        #expect(playback.keyframeCount == 10)
        #expect(playback.lastStartMicros == 0)

        let before = playback.recordsDecoded
        #expect(try Self.colour(playback.screen(at: 19_700_000)) == SyntheticSession.colour(39))
        #expect(playback.lastStartMicros == 18_000_000, "went on from the keyframe before the moment")
        #expect(playback.recordsDecoded - before <= 4, "only the records after that keyframe")

        #expect(try Self.colour(playback.screen(at: 3_100_000)) == SyntheticSession.colour(6))
        #expect(playback.lastStartMicros == 2_000_000)
        #expect(playback.recordsDecoded < total + 10)

        // The same moments without keyframes (a single keyframe interval longer than the session).
        let plain = try SessionPlayback(path: path, session: 1, keyframes: KeyframeOptions(intervalMicros: 1 << 40, cache: .none))
        #expect(try plain.screen(at: 3_100_000) == playback.screen(at: 3_100_000))
        #expect(plain.keyframeCount == 0)
    }

    @Test func aSeriesGivesEveryStepUpToTheLastRecord() throws {
        let (directory, path) = try Self.recording(steps: 8)
        defer { try? FileManager.default.removeItem(at: directory) }
        let playback = try SessionPlayback(path: path, session: 1)
        var seen: [(UInt64, UInt32?)] = []
        try playback.forEach(.init(everyMicros: 1_000_000)) { micros, screen in
            seen.append((micros, try screen.map { try Self.colour($0) }))
        }
        #expect(seen.map(\.0) == [0, 1_000_000, 2_000_000, 3_000_000, 4_000_000])
        #expect(seen.map(\.1) == [nil] + [2, 4, 6, 8].map { SyntheticSession.colour($0) })
    }

    @Test func anUnknownSessionIsAnError() throws {
        let (directory, path) = try Self.recording(steps: 2)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: RenderError.self) { try SessionPlayback(path: path, session: 7) }
    }
}
