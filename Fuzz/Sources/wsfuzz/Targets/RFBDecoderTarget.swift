import RFB
import RFBDecoding

/// `RFBFramebufferDecoder` (RFBDecoding): an RFB session's screen drawn from both streams, with
/// every encoding it knows (Raw, CopyRect, RRE, CoRRE, Hextile, ZRLE, TRLE, Zlib, Tight, cursors).
///
/// Invariants: no trap and bounded memory (the screen within `maximumPixels`, cursors within
/// `maximumCursorPixels`; libFuzzer's `-rss_limit_mb` catches the rest); the same screen and problems
/// however reads are cut; a decoder resumed from a snapshot taken mid-session (serialized and read
/// back) ends with the same screen, cursor and update count as the one that read everything.
enum RFBDecoderTarget {
    static let target = FuzzTarget(
        name: "rfb-decoder",
        summary: "RFBFramebufferDecoder: bounded, cut-invariant, snapshot (serialized) + resume ends on the same screen"
    ) { run($0) }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let cutSeed = input.byte()
        let snapshotAt = Int(input.byte())
        let schedule = RFBSchedule(&input)
        let whole = RFBFramebufferDecoder()
        var problems: [RFBDecodeProblem] = []
        var resumed: RFBFramebufferDecoder?
        for (index, feed) in schedule.feeds.enumerated() {
            problems += whole.feed(feed.direction, feed.bytes)
            _ = resumed?.feed(feed.direction, feed.bytes)
            if index + 1 == snapshotAt % (schedule.feeds.count + 1), let snapshot = whole.snapshot() {
                let serialized = snapshot.serialized
                do {
                    let read = try RFBDecoderSnapshot(serialized: serialized)
                    FuzzCheck.require(read == snapshot, "a snapshot reads back different")
                    resumed = try RFBFramebufferDecoder(resumingFrom: read)
                } catch {
                    FuzzCheck.require(false, "a decoder's own snapshot was refused: \(error)")
                }
            }
        }
        check(whole)
        if let resumed {
            FuzzCheck.require(resumed.framebuffer == whole.framebuffer, "a resumed decoder drew a different screen")
            FuzzCheck.require(resumed.cursor == whole.cursor, "a resumed decoder has a different cursor")
            FuzzCheck.require(resumed.updateCount == whole.updateCount, "a resumed decoder counted other updates")
        }
        let cut = RFBFramebufferDecoder()
        var cutProblems: [RFBDecodeProblem] = []
        for feed in schedule.recut(cutSeed) { cutProblems += cut.feed(feed.direction, feed.bytes) }
        FuzzCheck.require(cut.framebuffer == whole.framebuffer, "a different screen when reads are cut")
        FuzzCheck.require(cutProblems == problems, "different problems when reads are cut")
        _ = whole.finish()
    }

    static func check(_ decoder: RFBFramebufferDecoder) {
        if let screen = decoder.framebuffer {
            FuzzCheck.require(screen.width * screen.height <= RFBFramebufferDecoder.maximumPixels, "screen \(screen.width)×\(screen.height)")
            FuzzCheck.require(screen.pixels.count == screen.width * screen.height, "pixels do not fill the screen")
        }
        if let cursor = decoder.cursor {
            FuzzCheck.require(cursor.width * cursor.height <= RFBFramebufferDecoder.maximumCursorPixels, "a cursor over the limit")
        }
        _ = decoder.framebufferWithCursor
    }
}
