import ArgumentParser
import RFBDecoding
import RecordFormat
import RecordRender
import RecordTools

#if canImport(Glibc)
import Glibc
#endif

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a recorded VNC session's screen: a moment as PNG, a series, a contact sheet or a video.",
        discussion: """
            The session's RFB stream is decoded (docs/rfb-decoder.md); rectangles the decoder cannot draw \
            are reported on stderr with their time and the frame is drawn anyway. Times are durations since \
            the session start (12.5s, 250ms, 2m) or wall-clock ISO 8601 times (2026-12-06T09:30:12.5Z). \
            Reads both formats (ours and the legacy Python recordings). Keyframes (snapshots of the decoder \
            every few seconds of session time) make later moments quick to reach; they are kept in a cache \
            file beside the recording (FILE.keyframes, or in --cache DIR).
            """
    )

    @Argument(help: "The recording (either format).") var file: String

    @Option(help: "The session to draw (default: the only one).") var session: UInt32?

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Draw the screen at this time (repeatable).",
            discussion: "A duration since the session start or a wall-clock ISO 8601 time."))
    var at: [String] = []

    @Option(parsing: .unconditional, help: "Draw a series: one frame every this long (e.g. 1s), named with its time, into the directory -o.")
    var every: String?

    @Option(parsing: .unconditional, help: "With --every: the series starts here (default 0).") var from: String?
    @Option(parsing: .unconditional, help: "With --every: the series ends here (default: the session's last record).")
    var to: String?

    @Option(
        name: .shortAndLong,
        help: "The PNG file (one --at), or the directory for a series or several --at (created if missing).")
    var output: String?

    @Option(help: "Draw a contact sheet: a grid of thumbnails, each labelled with its time (moments from --every and the session's end, else 12 spread over the session).")
    var contactSheet: String?

    @Option(help: "With --contact-sheet: thumbnails per row.") var columns = 4
    @Option(help: "With --contact-sheet: the width of a thumbnail in pixels.") var thumbnailWidth = 240

    @Option(
        help: ArgumentHelp(
            "Make a video (.mp4 or .webm) of the session through ffmpeg.",
            discussion: "Frames have the size of the session's first screen; a screen that changes size later is scaled to fit, centred on black."))
    var video: String?

    @Option(help: "With --video: frames per second.") var fps = 10
    @Option(help: "With --video: session seconds per video second (2 plays twice as fast).") var speed = "1"
    @Flag(help: "With --video: burn the session time into the frames.") var timestamp = false

    @Flag(help: "Draw the pointer's cursor (the shape the server sent with the Cursor pseudo-encoding) where the pointer was.")
    var cursor = false

    @Option(help: "Keep the keyframe cache in this directory instead of beside the recording (FILE.keyframes).")
    var cache: String?

    @Flag(help: "Neither read nor write a keyframe cache (keyframes are still kept in memory).")
    var noCache = false

    @Option(help: ArgumentHelp("Session time between two keyframes.", visibility: .hidden))
    var keyframeInterval: String = "5s"

    @Flag(help: "For each frame, say on stderr where decoding started (a keyframe, the session start) and how long it took.")
    var timings = false

    func validate() throws {
        if cache != nil && noCache { throw ValidationError("--cache and --no-cache exclude each other") }
        if (TimeSpec.micros(keyframeInterval) ?? 0) == 0 {
            throw ValidationError("--keyframe-interval \(keyframeInterval): expected a duration above zero")
        }
        let modes = [!at.isEmpty, every != nil && contactSheet == nil, contactSheet != nil, video != nil].filter { $0 }.count
        if modes != 1 {
            throw ValidationError("give one of --at TIME, --every STEP, --contact-sheet OUT.png or --video OUT.mp4")
        }
        if (contactSheet != nil || video != nil), output != nil {
            throw ValidationError("--contact-sheet and --video name their own output; -o is for --at and --every")
        }
        if every != nil, contactSheet == nil, output == nil { throw ValidationError("--every writes its frames into -o DIR") }
        if columns < 1 || thumbnailWidth < 8 || thumbnailWidth > 4096 {
            throw ValidationError("--columns must be at least 1 and --thumbnail-width 8 to 4096")
        }
        if fps < 1 || fps > 240 { throw ValidationError("--fps must be 1 to 240") }
        if VideoSettings.speed(speed) == nil { throw ValidationError("--speed \(speed): expected a number from 0.001 to 10000") }
        if let video, !(video.hasSuffix(".mp4") || video.hasSuffix(".webm")) {
            throw ValidationError("--video \(video): the name must end in .mp4 or .webm")
        }
        if !at.isEmpty, output == nil { throw ValidationError("--at writes its frame to -o FILE.png") }
        if let every, (TimeSpec.micros(every) ?? 0) == 0 {
            throw ValidationError("--every \(every): expected a duration above zero such as 1s or 500ms")
        }
        if (from != nil || to != nil) && every == nil { throw ValidationError("--from and --to go with --every") }
    }

    func run() throws {
        let number = try sessionNumber()
        let keyframes = KeyframeOptions(
            intervalMicros: TimeSpec.micros(keyframeInterval)!,
            cache: noCache ? .none : cache.map(KeyframeOptions.Cache.directory) ?? .sidecar)
        let playback = try SessionPlayback(path: file, session: number, keyframes: keyframes)
        playback.drawsCursor = cursor
        var warnings = RenderWarnings(file: file, session: number)
        defer {
            playback.saveKeyframes()
            warnings.show(playback.notes, final: true)
        }
        if !at.isEmpty {
            try drawMoments(playback, &warnings)
        } else if let video {
            try makeVideo(video, playback)
        } else if let contactSheet {
            try drawContactSheet(contactSheet, playback, &warnings)
        } else {
            try drawSeries(playback, &warnings)
        }
        // As dump and the other subcommands: what was drawn is written, and the status says that the
        // recording is damaged (or has times out of range) — the screens may be from before a cut.
        if playback.recordingDamaged { throw ExitCode(ExitStatus.damaged) }
    }

    /// `--at`: each moment as a PNG.
    private func drawMoments(_ playback: SessionPlayback, _ warnings: inout RenderWarnings) throws {
        let moments = try at.map { try moment($0, playback.open) }
        let outputMode = try AtomicFile.mode(madeFrom: file)
        var missing: [RenderError] = []
        let directory = at.count > 1
        if directory { try makeDirectory(output!) }
        for (text, micros) in zip(at, moments) {
            let started = Self.now()
            let decodedBefore = playback.recordsDecoded
            let screen = try playback.screen(at: micros)
            if timings {
                let from = playback.lastStartMicros.map {
                    $0 == 0 ? "the session start" : "the keyframe at \(RenderTimeText.seconds($0)) s"
                } ?? "where the previous frame stopped"
                Output.standardError(
                    "frame at \(RenderTimeText.seconds(micros)) s: from \(from), \(playback.recordsDecoded - decodedBefore) "
                        + "records decoded in \(Self.milliseconds(since: started)) ms (\(playback.keyframeCount) keyframes, "
                        + "\(playback.keyframesFromCache) from the cache)")
            }
            if let end = playback.endMicros, micros > end {
                Output.standardError(
                    "wsrecord-inspect: warning: \(file): session \(playback.session): \(text) is after the session's "
                        + "last record (at \(RenderTimeText.seconds(end)) s): its last screen is drawn")
            }
            guard let screen else {
                // The other moments are still written; the status says that one could not be.
                let error = RenderError("no screen at \(text): the server had not sent its ServerInit by then", path: file)
                guard directory else { throw error }
                missing.append(error)
                continue
            }
            try PNGImage.write(screen, to: directory ? "\(output!)/\(Self.frameName(micros))" : output!, mode: outputMode)
            warnings.show(playback.notes)
        }
        if let first = missing.first {
            for other in missing.dropFirst() { Output.standardError("wsrecord-inspect: error: \(other)") }
            throw first
        }
    }

    /// `--video`: through ffmpeg, a progress bar on a terminal.
    private func makeVideo(_ video: String, _ playback: SessionPlayback) throws {
        let settings = VideoSettings(fps: fps, speed: VideoSettings.speed(speed)!, timestamp: timestamp)
        let bar = isatty(2) == 1 ? FrameProgress(label: "video") : nil
        let frames = try VideoRenderer.render(playback, to: video, settings: settings) { done, total in
            bar?.update(done, of: total)
        }
        bar?.finish()
        Output.standardError("wrote \(video): \(frames) frames at \(fps) per second")
    }

    /// `--contact-sheet`: `--every`'s moments and the session's end, or 12 spread over the session.
    private func drawContactSheet(_ path: String, _ playback: SessionPlayback, _ warnings: inout RenderWarnings) throws {
        var sheet = ContactSheet(columns: columns, thumbnailWidth: thumbnailWidth)
        guard every != nil else {
            // Without --every: 12 moments evenly apart, the last one the session's last record
            // (moment 0, before any screen, is not one of them).
            let end = try playback.lastTime()
            var taken = Set<UInt64>()
            for micros in (1...12).map({ end * $0 / 12 }) where taken.insert(micros).inserted {
                if let screen = try playback.screen(at: micros) { sheet.add(screen, at: micros) }
                warnings.show(playback.notes)
            }
            try writeSheet(sheet, to: path)
            return
        }
        let series = try self.series(playback)
        var last: UInt64?
        try playback.forEach(series) { micros, screen in
            if let screen { sheet.add(screen, at: micros) }
            last = micros
            warnings.show(playback.notes)
        }
        // The sheet ends with the session's end (unless --to stopped it earlier).
        let end = try playback.lastTime()
        if to == nil, last.map({ $0 < end }) ?? true, let screen = try playback.screen(at: end) {
            sheet.add(screen, at: end)
        }
        try writeSheet(sheet, to: path)
    }

    private func writeSheet(_ sheet: ContactSheet, to path: String) throws {
        guard sheet.count > 0 else { throw RenderError("the session has no screen to draw (no ServerInit)", path: file) }
        try PNGImage.write(sheet.image(), to: path, mode: try AtomicFile.mode(madeFrom: file))
        Output.standardError("wrote \(path): \(sheet.count) thumbnails, \(sheet.size.width)x\(sheet.size.height)")
    }

    /// `--every -o DIR`: a PNG per moment, named with its time.
    private func drawSeries(_ playback: SessionPlayback, _ warnings: inout RenderWarnings) throws {
        try makeDirectory(output!)
        let outputMode = try AtomicFile.mode(madeFrom: file)
        var written = 0
        try playback.forEach(try series(playback)) { micros, screen in
            guard let screen else { return }
            try PNGImage.write(screen, to: "\(output!)/\(Self.frameName(micros))", mode: outputMode)
            written += 1
            warnings.show(playback.notes)
        }
        Output.standardError("wrote \(written) frames into \(output!)")
    }

    /// The moments of `--every`, `--from`, `--to`.
    private func series(_ playback: SessionPlayback) throws -> SessionPlayback.Series {
        let start = try from.map { try moment($0, playback.open) } ?? 0
        let end = try to.map { try moment($0, playback.open) }
        if let end, end < start, let from, let to {
            throw ValidationError("--from \(from) is later than --to \(to)")
        }
        return .init(everyMicros: TimeSpec.micros(every!)!, fromMicros: start, toMicros: end)
    }

    static func now() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    static func milliseconds(since start: UInt64) -> String {
        let micros = (now() - start) / 1000
        return "\(micros / 1000).\(micros / 100 % 10)"
    }

    /// `frame-00h01m02.500s.png`: sorts by time.
    static func frameName(_ micros: UInt64) -> String { "frame-\(RenderTimeText.fileStamp(micros)).png" }

    /// The session asked, or the only one of the file.
    private func sessionNumber() throws -> UInt32 {
        if let session { return session }
        // A legacy recording is one session; ours lists its sessions in its index.
        let sessions: Set<UInt32> =
            try RecordSource(path: file).format == .legacy
            ? [1] : Set(try RecordFileReader(path: file).loadIndex().sessions.keys.filter { $0 != 0 })
        guard sessions.count == 1, let only = sessions.first else {
            let list = sessions.sorted().map(String.init).joined(separator: ", ")
            throw ValidationError(
                sessions.isEmpty ? "\(file) holds no session" : "\(file) holds sessions \(list): pick one with --session N")
        }
        return only
    }

    /// A time on the command line as µs since the session start.
    private func moment(_ text: String, _ open: SessionOpen) throws -> UInt64 {
        if let micros = TimeSpec.micros(text) { return micros }
        guard let wall = WallClockTime.micros(text) else {
            if text.hasPrefix("-") {
                throw ValidationError("\(text): times are not negative: a duration since the session start (0) or an ISO 8601 time")
            }
            throw ValidationError("\(text): expected a duration such as 12.5s or an ISO 8601 time such as 2026-12-06T09:30:12Z")
        }
        guard wall >= open.startWallMicros else {
            throw ValidationError(
                "\(text) is before the session started (\(ISODate.string(wallMicros: open.startWallMicros)))")
        }
        return UInt64(wall - open.startWallMicros)
    }

    private func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw RenderError("cannot create the directory: \(String(cString: strerror(errno)))", path: path)
        }
    }
}
