import Foundation
import RFBDecoding
import RecordTestSupport
import TestSupport
import Testing

@testable import RecordRender

/// A cache that reads back whole (its own CRC is right) may still hold keyframes that must not be
/// used: a snapshot another decoder version wrote, or one that points at another record.
@Suite struct KeyframeTrustTests {
    /// Makes the cache, lets `change` alter its session-1 keyframes, writes it back with a valid CRC.
    static func tampered(_ path: String, _ change: (inout [Keyframe]) -> Void) throws {
        let (_, cold) = try KeyframeCacheTests.late(path)
        let identity = try #require(KeyframeCache.Identity(path: path))
        var cache = try #require(try KeyframeCache.load(path: path + ".keyframes", identity: identity))
        #expect(cache.sessions[1]?.keyframes.count == cold.keyframeCount)
        change(&cache.sessions[1]!.keyframes)
        try Data(cache.encoded()).write(to: URL(fileURLWithPath: path + ".keyframes"))
    }

    @Test func aSnapshotThatDoesNotReadBackIsDroppedAndTheCacheMadeAgain() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.tampered(path) { keyframes in
            keyframes[keyframes.count - 1].snapshot[40] ^= 0x01  // the snapshot's own CRC no longer matches
        }
        let (screen, playback) = try KeyframeCacheTests.late(path)
        #expect(try SessionPlaybackTests.colour(screen) == SyntheticSession.colour(39))
        #expect(playback.lastStartMicros == 16_000_000, "went on from the keyframe before the bad one")
        #expect(playback.notes.contains { $0.text.contains("does not read back") }, "\(playback.notes)")
        // Written again: the next run uses the last keyframe.
        let (_, next) = try KeyframeCacheTests.late(path)
        #expect(next.lastStartMicros == 18_000_000 && next.notes.isEmpty, "\(next.notes)")
    }

    @Test func aKeyframeThatPointsAtAnotherRecordIsNotUsed() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.tampered(path) { keyframes in
            guard case .block(let offset, let index) = keyframes[keyframes.count - 1].position else { return }
            keyframes[keyframes.count - 1].position = .block(offset: offset, index: index + 1000)
        }
        let (screen, playback) = try KeyframeCacheTests.late(path)
        #expect(try SessionPlaybackTests.colour(screen) == SyntheticSession.colour(39))
        #expect(playback.lastStartMicros == 16_000_000)
        #expect(playback.notes.contains { $0.text.contains("does not match") }, "\(playback.notes)")
    }
}
