import Foundation
import RFBDecoding
import RecordRender
import RecordTestSupport
import TestSupport
import Testing

@Suite struct KeyframeCacheTests {
    static let options = KeyframeOptions(intervalMicros: 2_000_000, cache: .sidecar)

    /// Renders the session's moment 19.7 s with the sidecar cache; returns the screen and the playback.
    static func late(_ path: String) throws -> (RFBFramebuffer?, SessionPlayback) {
        let playback = try SessionPlayback(path: path, session: 1, keyframes: options)
        let screen = try playback.screen(at: 19_700_000)
        playback.saveKeyframes()
        return (screen, playback)
    }

    @Test func aSecondRunStartsFromTheCachedKeyframeAndDrawsTheSame() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (first, cold) = try Self.late(path)
        #expect(cold.lastStartMicros == 0 && cold.keyframesFromCache == 0)
        #expect(FileManager.default.fileExists(atPath: path + ".keyframes"))
        let (second, warm) = try Self.late(path)
        #expect(warm.keyframesFromCache == 9, "2 s, 4 s, … 18 s")
        #expect(warm.lastStartMicros == 18_000_000)
        #expect(warm.recordsDecoded <= 4, "not from the start: \(warm.recordsDecoded) records")
        #expect(second == first)
        #expect(warm.notes.isEmpty, "\(warm.notes)")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["session.rec", "session.rec.keyframes"], "no temporary file left")
    }

    @Test func aCacheOfTheRecordingAsItWasBeforeIsNotUsed() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try Self.late(path)
        // Replaced by another recording of the same length (other colours), keeping the cache.
        let other = directory.appendingPathComponent("other.rec").path
        try SyntheticSession.write(to: other, salt: 7)
        #expect(rename(other, path) == 0)
        let (screen, playback) = try Self.late(path)
        #expect(playback.keyframesFromCache == 0 || playback.lastStartMicros == 0)
        #expect(try SessionPlaybackTests.colour(screen) == SyntheticSession.colour(39, salt: 7))
        #expect(playback.notes.contains { $0.text.contains("changed since") }, "\(playback.notes)")
        // Appended to: stale too.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let (_, appended) = try Self.late(path)
        #expect(appended.notes.contains { $0.text.contains("changed since") }, "\(appended.notes)")
        #expect(appended.lastStartMicros == 0)
    }

    @Test func aDamagedCacheIsIgnoredWithAWarningAndMadeAgain() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (truth, _) = try Self.late(path)
        let cache = URL(fileURLWithPath: path + ".keyframes")
        let good = try Data(contentsOf: cache)
        // Garbage, a flipped byte in a snapshot, and a cut-off file.
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        for damaged in [Data("not a cache at all".utf8), flipped, good.prefix(good.count - 9)] {
            try damaged.write(to: cache)
            let (screen, playback) = try Self.late(path)
            #expect(screen == truth)
            #expect(playback.lastStartMicros == 0, "decoded from the start")
            #expect(playback.notes.contains { $0.text.contains("is damaged") }, "\(playback.notes)")
            #expect(try Data(contentsOf: cache) == good, "made again, the same")
        }
    }

    @Test func aCacheDirectoryHoldsTheCacheWhenTheRecordingsDirectoryIsNotToBeWritten() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        let elsewhere = directory.appendingPathComponent("cache").path
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
        let options = KeyframeOptions(intervalMicros: 2_000_000, cache: .directory(elsewhere))
        let playback = try SessionPlayback(path: path, session: 1, keyframes: options)
        _ = try playback.screen(at: 19_700_000)
        playback.saveKeyframes()
        let files = try FileManager.default.contentsOfDirectory(atPath: elsewhere)
        #expect(files.count == 1 && files[0].hasPrefix("session.rec.") && files[0].hasSuffix(".keyframes"))
        #expect(!FileManager.default.fileExists(atPath: path + ".keyframes"))
        let again = try SessionPlayback(path: path, session: 1, keyframes: options)
        #expect(again.keyframesFromCache == 9)
    }

    @Test func aCacheThatCannotBeWrittenIsANoteNotAFailure() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = KeyframeOptions(intervalMicros: 2_000_000, cache: .directory(directory.path + "/missing"))
        let playback = try SessionPlayback(path: path, session: 1, keyframes: options)
        #expect(try SessionPlaybackTests.colour(playback.screen(at: 19_700_000)) == SyntheticSession.colour(39))
        playback.saveKeyframes()
        #expect(playback.notes.contains { $0.text.contains("cannot be written") }, "\(playback.notes)")
    }
}
