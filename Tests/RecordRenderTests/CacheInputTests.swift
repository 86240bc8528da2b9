import Foundation
import RFBDecoding
import RecordRender
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
import RecordTestSupport
#endif

/// The keyframe cache is input render did not make: something else at its name, or an entry that
/// points at the wrong place, is the cache's problem, never a hang or the recording's damage.
@Suite struct CacheInputTests {
    /// A FIFO at FILE.keyframes: opening it to read would wait for a writer forever.
    @Test(.timeLimit(.minutes(1))) func aFIFOAtTheCachesNameIsNeitherReadNorReplaced() throws {
        let (directory, path) = try SessionPlaybackTests.recording(steps: 12)
        defer { try? FileManager.default.removeItem(at: directory) }
        try #require(mkfifo(path + ".keyframes", 0o600) == 0)
        let (screen, playback) = try KeyframeCacheTests.late(path)
        #expect(try SessionPlaybackTests.colour(screen) == SyntheticSession.colour(12))
        #expect(playback.notes.map(\.text) == ["the keyframe cache \(path).keyframes is not a regular file: neither used nor replaced"])
        var info = stat()
        #expect(lstat(path + ".keyframes", &info) == 0 && info.st_mode & S_IFMT == S_IFIFO, "still the FIFO")
    }

    /// A cache entry (CRC made good) whose block offset is 7: reading there finds garbage, which
    /// is the cache's fault; the frame is decoded from an earlier point and the cache written without it.
    @Test func aCacheEntryPointingElsewhereIsTheCachesFaultAndTheCacheIsMadeAgain() throws {
        let (directory, path) = try SessionPlaybackTests.recording()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (truth, _) = try KeyframeCacheTests.late(path)
        let cache = URL(fileURLWithPath: path + ".keyframes")
        let good = [UInt8](try Data(contentsOf: cache))
        // docs of KeyframeCache: magic 8, version 2, identity 40, sessions 4, session 4 + 8 + 4,
        // then the first keyframe: reached 8, ordinal 8, kind 1, the block offset (U64).
        let offsetField = 8 + 2 + 40 + 4 + 16 + 17
        try #require(good[offsetField - 1] == 0, "the first keyframe is a block position")
        var forged = good
        forged.replaceSubrange(offsetField..<offsetField + 8, with: [0, 0, 0, 0, 0, 0, 0, 7])
        let crc = Self.crc32(forged.dropLast(4))
        forged.replaceSubrange(forged.count - 4..<forged.count, with: (0..<4).map { UInt8(crc >> (24 - 8 * $0) & 0xFF) })
        try Data(forged).write(to: cache)

        let playback = try SessionPlayback(path: path, session: 1, keyframes: KeyframeCacheTests.options)
        #expect(playback.keyframesFromCache > 0, "the forged cache reads back")
        #expect(try playback.screen(at: 2_100_000) == (try SessionPlayback(path: path, session: 1).screen(at: 2_100_000)))
        #expect(try playback.screen(at: 19_700_000) == truth)
        playback.saveKeyframes()
        let texts = playback.notes.map(\.text)
        #expect(!texts.contains { $0.contains("damaged recording") }, "\(texts)")
        #expect(texts.contains { $0.contains("of the keyframe cache \(path).keyframes") && $0.contains("does not match") }, "\(texts)")
        // Written again without the entry: the next run uses it without a word.
        let next = try SessionPlayback(path: path, session: 1, keyframes: KeyframeCacheTests.options)
        #expect(next.keyframesFromCache > 0)
        #expect(try next.screen(at: 19_700_000) == truth)
        #expect(try next.screen(at: 2_100_000) == (try SessionPlayback(path: path, session: 1).screen(at: 2_100_000)))
        #expect(next.notes.isEmpty, "\(next.notes)")
    }

    /// CRC-32 (ISO-HDLC, zlib's), bit by bit.
    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? crc >> 1 ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
