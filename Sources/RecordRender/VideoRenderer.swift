import RFBDecoding

/// A session as a video: the screen at every frame's moment (``VideoSettings``), in the size of the
/// session's first screen (a screen that changes size later is scaled to fit and centred on black;
/// moments before the first screen are black).
public enum VideoRenderer {
    /// Renders `playback`'s session to `output` (.mp4 or .webm); `progress` is called with frames
    /// done and the total. Returns the number of frames.
    @discardableResult
    public static func render(
        _ playback: SessionPlayback, to output: String, settings: VideoSettings,
        progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }
    ) throws(RenderError) -> Int {
        let total = settings.frameCount(endMicros: try playback.lastTime())
        let mode = try AtomicFile.mode(madeFrom: playback.path)
        var encoder: VideoEncoder?
        var blank = 0
        do throws(RenderError) {
            for index in 0..<total {
                guard let screen = try playback.screen(at: settings.sessionMicros(ofFrame: index)) else {
                    blank += 1
                    continue
                }
                if encoder == nil {
                    // H.264 and VP8 in 4:2:0 need even sizes.
                    let made = try VideoEncoder(
                        output: output, width: (screen.width + 1) & ~1, height: (screen.height + 1) & ~1,
                        settings: settings)
                    let black = RFBFramebuffer(width: made.width, height: made.height)
                    for _ in 0..<blank { try made.write(black) }
                    encoder = made
                }
                try encoder?.write(screen)
                progress(index + 1, total)
            }
            guard let encoder else { throw RenderError("the session has no screen to draw (no ServerInit)", path: playback.path) }
            try encoder.finish(mode: mode)
        } catch {
            encoder?.abandon()
            throw error
        }
        return total
    }
}
