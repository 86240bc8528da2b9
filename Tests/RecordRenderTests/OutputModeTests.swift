import Foundation
import RFBDecoding
import RecordRender
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
import RecordTestSupport
#endif

/// What render writes gets permission bits from the recording, not the umask: outputs the
/// recording's own, the keyframe cache (the session's screens) at most 0600.
@Suite(.serialized) struct OutputModeTests {
    static func mode(_ path: String) throws -> UInt32 {
        var info = stat()
        try #require(stat(path, &info) == 0, "\(path) exists")
        return UInt32(info.st_mode) & 0o7777
    }

    @Test(arguments: [(UInt32(0o600), UInt32(0o600)), (0o640, 0o600), (0o644, 0o600), (0o400, 0o400)])
    func theKeyframeCacheIsNoMoreReadableThanTheOwnerAndTheRecording(recording: UInt32, cache: UInt32) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("session.rec").path
        try SyntheticSession.write(to: path, steps: 12)
        try #require(chmod(path, mode_t(recording)) == 0)
        let previous = umask(0)
        defer { umask(previous) }
        let playback = try SessionPlayback(path: path, session: 1, keyframes: KeyframeOptions(intervalMicros: 1_000_000, cache: .sidecar))
        _ = try playback.screen(at: 6_000_000)
        playback.saveKeyframes()
        #expect(playback.notes.isEmpty, "\(playback.notes)")
        #expect(try Self.mode(path + ".keyframes") == cache)
    }

    @Test func anImageHasTheModeAskedWhateverTheUmask() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let recording = directory.appendingPathComponent("session.rec").path
        try SyntheticSession.write(to: recording, steps: 2)
        try #require(chmod(recording, 0o640) == 0)
        let previous = umask(0)
        defer { umask(previous) }
        let image = directory.appendingPathComponent("frame.png").path
        try PNGImage.write(RFBFramebuffer(width: 2, height: 2), to: image, mode: try AtomicFile.mode(madeFrom: recording))
        #expect(try Self.mode(image) == 0o640)
    }

    /// An output that cannot be made is named as the user gave it, not its hidden temporary file.
    @Test func anOutputThatCannotBeMadeIsNamedAsGiven() throws {
        let path = "/nonexistent-\(getpid())/dir/f.png"
        #expect(throws: RenderError("cannot create: No such file or directory", path: path)) {
            try PNGImage.write(RFBFramebuffer(width: 2, height: 2), to: path, mode: 0o644)
        }
    }
}
