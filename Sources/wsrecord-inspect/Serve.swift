#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import RecordFormat
import RecordViewer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a recording in the browser: sessions, a timeline, the decoded RFB messages and the screen played by noVNC.",
        discussion: """
            Serves one page on http://127.0.0.1:PORT/ (loopback unless --listen says otherwise; GET only). \
            The screen is drawn by noVNC's own core, loaded from --novnc, fed from the recording through a \
            fake socket: nothing connects to a VNC server. Reads our format and legacy Python websockify \
            recordings; a damaged file shows everything readable and says where it stops. Runs until \
            interrupted (Ctrl-C).
            """
    )

    @Argument(help: "The recording file.")
    var file: String

    @Option(help: "The TCP port to listen on (0: any free port, printed at start).")
    var port: Int = 8070

    @Option(help: "The address to listen on. Anything but loopback lets other machines read the recording.")
    var listen: String = "127.0.0.1"

    @Option(help: ArgumentHelp("The noVNC tree whose core/rfb.js draws the screen.", valueName: "dir"))
    var novnc: String = "/usr/share/novnc"

    @Flag(help: "Keep reading the file as its writer appends to it: the timeline grows live.")
    var follow = false

    @Option(help: ArgumentHelp("Session time between two keyframes kept for seeking, in seconds.", valueName: "seconds"))
    var keyframeInterval: Double = 5

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard keyframeInterval > 0, keyframeInterval <= 3600 else {
            throw ValidationError("--keyframe-interval must be more than 0 and at most 3600 seconds")
        }
    }

    func run() throws {
        var info = stat()
        guard stat(novnc + "/core/rfb.js", &info) == 0 else {
            Output.standardError(
                "wsrecord-inspect: \(novnc)/core/rfb.js not found: install Debian's novnc or name a noVNC tree with --novnc")
            throw ExitCode(ExitStatus.trouble)
        }
        // Opening it here makes a missing or unreadable file a usage error before anything listens.
        _ = try RecordSource(path: file)
        let recording = ViewerRecording(path: file, keyframeIntervalMicros: UInt64(keyframeInterval * 1e6))
        let loader = ViewerLoader(recording: recording, follow: follow)
        let server: ViewerServer
        do {
            server = try ViewerServer(api: ViewerAPI(recording: recording, noVNCDirectory: novnc), host: listen, port: port)
        } catch {
            Output.standardError("wsrecord-inspect: cannot listen on \(listen):\(port): \(error)")
            throw ExitCode(ExitStatus.trouble)
        }
        let bound = server.port ?? port
        let host = listen.contains(":") ? "[\(listen)]" : listen
        var out = Output()
        out.line("wsrecord-inspect: serving \(file) on http://\(host):\(bound)/")
        out.flush()
        loader.start()
        try server.wait()
    }
}
