import RFBDecoding

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The files a signal handler removes when the process is interrupted while a video is made (C
/// strings: all a handler may touch).
nonisolated(unsafe) private var interruptedVideo: UnsafeMutablePointer<CChar>?
nonisolated(unsafe) private var interruptedLog: UnsafeMutablePointer<CChar>?

/// Frames piped to ffmpeg as raw RGB video, encoded to MP4 (H.264) or WebM (VP8) by the output's
/// extension. The video is written to a temporary file beside the output and renamed over it only
/// when ffmpeg succeeded; on any failure the temporary file is removed and the error carries the
/// end of ffmpeg's own messages.
public final class VideoEncoder {
    public let output: String
    public let width: Int
    public let height: Int
    private let temporary: String
    private let log: String
    private var input: Int32
    private var pid: pid_t
    private var done = false

    /// Starts ffmpeg for `width` × `height` frames (even sizes: H.264 and VP8 in 4:2:0 need them).
    public init(output: String, width: Int, height: Int, settings: VideoSettings) throws(RenderError) {
        let container: [String]
        switch output.split(separator: ".").last?.lowercased() {
        case "mp4":
            container = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                         "-movflags", "+faststart", "-f", "mp4"]
        case "webm":
            container = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-crf", "8", "-b:v", "8M",
                         "-pix_fmt", "yuv420p", "-f", "webm"]
        default:
            throw RenderError("a video is .mp4 or .webm", path: output)
        }
        if settings.timestamp, access(settings.fontFile, R_OK) != 0 {
            throw RenderError(
                "the font for --timestamp is missing (Debian package fonts-dejavu-core)", path: settings.fontFile)
        }
        self.output = output
        self.width = width
        self.height = height
        temporary = AtomicFile.temporaryName(for: output)
        log = AtomicFile.temporaryName(for: output + ".ffmpeg.log")
        // The input's frame rate makes each frame's time the session time (fps / speed); drawtext
        // prints it, then setpts scales it to the video's clock.
        let inputRate = "\(settings.fps * settings.speedDenominator)/\(settings.speedNumerator)"
        var filters: [String] = []
        if settings.timestamp {
            filters.append(
                "drawtext=fontfile=\(settings.fontFile):text='%{pts\\:hms}':x=8:y=h-th-8:fontsize=20:"
                    + "fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4")
        }
        filters.append("setpts=PTS*\(settings.speedDenominator)/\(settings.speedNumerator)")
        let arguments =
            [settings.ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
             "-s", "\(width)x\(height)", "-framerate", inputRate, "-i", "pipe:0", "-vf", filters.joined(separator: ","),
             "-r", "\(settings.fps)"] + container + ["-y", temporary]
        (input, pid) = try Self.spawn(arguments, log: log)
        // A write to a pipe whose reader died must be an EPIPE error here, not a SIGPIPE death.
        signal(SIGPIPE, SIG_IGN)
        // Interrupted (Ctrl-C, kill): the half-made video is removed before the process ends.
        interruptedVideo = strdup(temporary)
        interruptedLog = strdup(log)
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber) { number in
                if let path = interruptedVideo { unlink(path) }
                if let path = interruptedLog { unlink(path) }
                _exit(128 + number)
            }
        }
    }

    deinit { if !done { abandon() } }

    /// Sends one frame (fitted into the video's size when it has another).
    public func write(_ screen: RFBFramebuffer) throws(RenderError) {
        let rgb = PNGImage.rgbBytes(FrameScaler.fitted(screen, width: width, height: height))
        var sent = 0
        var failure: Int32 = 0
        rgb.withUnsafeBytes { raw in
            while sent < raw.count {
                let n = Glibc.write(input, raw.baseAddress! + sent, raw.count - sent)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                sent += n
            }
        }
        if failure != 0 {
            let status = finishProcess()
            discard()
            throw RenderError("ffmpeg stopped reading frames (\(Self.describe(status)))\(messages())", path: output)
        }
    }

    /// Ends the input, waits for ffmpeg and puts the video in place with the permission bits `mode`.
    public func finish(mode: UInt32) throws(RenderError) {
        let status = finishProcess()
        guard status == 0 else {
            let text = messages()
            discard()
            throw RenderError("ffmpeg failed (\(Self.describe(status)))\(text)", path: output)
        }
        unlink(log)
        forgetInterruption()
        try AtomicFile.commit(temporary, to: output, mode: mode)
    }

    /// Stops ffmpeg and removes what it wrote (an interrupted or failed render leaves no video).
    public func abandon() {
        guard !done else { return }
        kill(pid, SIGTERM)
        _ = finishProcess()
        discard()
    }

    private func finishProcess() -> Int32 {
        guard !done else { return -1 }
        done = true
        close(input)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // WIFEXITED / WEXITSTATUS: the low 7 bits are the signal, 0 for a normal exit.
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    private func discard() {
        unlink(temporary)
        unlink(log)
        forgetInterruption()
    }

    /// The video is in place or gone: signals kill the process as usual again.
    private func forgetInterruption() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] { signal(signalNumber, SIG_DFL) }
        free(interruptedVideo)
        free(interruptedLog)
        interruptedVideo = nil
        interruptedLog = nil
    }

    /// The last lines ffmpeg printed, for the error.
    private func messages() -> String {
        let fd = open(log, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let end = lseek(fd, 0, SEEK_END)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 4096, max(0, end - 4096)) }
        guard n > 0 else { return "" }
        let lines = String(decoding: bytes.prefix(n), as: UTF8.self).split(separator: "\n").suffix(5)
        return lines.isEmpty ? "" : ": " + lines.joined(separator: " / ")
    }

    private static func describe(_ status: Int32) -> String {
        status > 128 ? "killed by signal \(status - 128)" : "exit status \(status)"
    }

    /// Runs `arguments` with a pipe on its standard input and `log` as its standard error.
    private static func spawn(_ arguments: [String], log: String) throws(RenderError) -> (Int32, pid_t) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RenderError("cannot make a pipe: \(AtomicFile.errnoText())") }
        // Neither end stays open in ffmpeg but as its standard input (else it never sees the end).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var cArguments = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, nil, &cArguments, environ)
        close(fds[0])
        guard result == 0 else {
            close(fds[1])
            unlink(log)
            let reason = String(decoding: strerror(result).map { UnsafeBufferPointer(start: $0, count: strlen($0)) }
                .map { $0.map { UInt8(bitPattern: $0) } } ?? [], as: UTF8.self)
            throw RenderError(
                result == ENOENT
                    ? "ffmpeg was not found (install Debian's ffmpeg, e.g. with scripts/install-deps)"
                    : "cannot run ffmpeg: \(reason)", path: arguments[0])
        }
        return (fds[1], pid)
    }
}
