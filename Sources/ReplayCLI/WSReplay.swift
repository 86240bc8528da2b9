import ArgumentParser
import CLISupport
import Foundation
import Logging
import MetricsExport
import Proxy
import RFBRules
import RecordFormat
import Replay
import ServiceSupport
import StaticWeb

/// `wsreplay FILE --port PORT …`: plays a recording to WebSocket clients and checks what they send.
public struct WSReplay: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "wsreplay",
        abstract: "Play a recorded WebSocket session to clients and check that they send what was recorded.",
        discussion: """
            Exit codes: 0 the client matched the recording, 1 a divergence or no client at all, 2 usage or I/O error, \
            3 the recording is truncated or corrupt (played up to the last good block), or holds records \
            whose time is out of range (played right after the record before them).
            """,
        version: RecordFormatVersion.producerVersion)

    enum Sync: String, ExpressibleByArgument, CaseIterable {
        case client, time
    }

    @Argument(help: "The recording: ours (.rec) or a legacy Python websockify --record file.")
    var file: String

    @Option(help: "TCP port to listen on (0 picks one and logs it).")
    var port: Int

    @Option(help: "Address to listen on.")
    var listen: String = "127.0.0.1"

    @Option(help: "Play only this session (its number in the file).")
    var session: UInt32?

    @Option(help: "Divide recorded time offsets by this factor.")
    var speed: Double = 1.0

    @Flag(help: "Send as fast as the client reads (backpressure respected), ignoring recorded times.")
    var fast = false

    @Option(
        help: "client: wait for the client's recorded messages before playing past them; time: play by the clock only.")
    var sync: Sync = .client

    @Option(name: .customLong("wait-timeout"), help: "Seconds to wait for a client message (and the client's close).")
    var waitTimeout: Double = 10

    @Flag(help: "Exit after one session.")
    var once = false

    @Flag(help: "Start over after the last session instead of exiting.")
    var loop = false

    @Flag(name: .customLong("no-rfb"), help: "Compare plain bytes even when the session is RFB (VNC).")
    var noRFB = false

    @Option(
        help: ArgumentHelp(
            "RFB: differences in this client message type are expected (a changed, missing or extra one counts as "
                + "allowed); SetEncodings:superset allows only added encodings and a new order. Repeatable.",
            valueName: "MESSAGE[:superset]"))
    var allow: [String] = []

    @Option(
        help: ArgumentHelp(
            "RFB: leave this client message type out of the comparison (FramebufferUpdateRequest and PointerEvent "
                + "are by default). Repeatable.", valueName: "MESSAGE"))
    var ignore: [String] = []

    @Option(
        help: ArgumentHelp(
            "RFB: rules from a JSON or YAML file (allow, ignore, check, per-message exceptions); see docs/wsreplay.md.",
            valueName: "FILE"))
    var rules: String?

    @Flag(
        name: .customLong("stop-at-first"),
        help: "Stop checking a session at its first divergence and play the rest by the clock.")
    var stopAtFirst = false

    @Flag(
        name: .customLong("close-at-end"),
        help: "Close after the last frame even where the recording's target did not close (else the session is held open).")
    var closeAtEnd = false

    @Option(
        name: .customLong("hold-timeout"),
        help: ArgumentHelp(
            "Seconds to hold a session open after its last frame for the client to close, where the recorded "
                + "client closed or the recording does not say who closed (legacy files).", valueName: "SECONDS"))
    var holdTimeout: Double = 30

    @Option(help: "Write a JSON report to this file.")
    var report: String?

    @Option(
        name: .customLong("record-client"),
        help: ArgumentHelp(
            "Write the sessions as they happened against this client (frames played and the client's frames) to a new "
                + "recording, e.g. for wsrecord-inspect diff --rfb.", valueName: "OUT.rec"))
    var recordClient: String?

    @Flag(name: .shortAndLong, help: "Log each connection and session in detail.")
    var verbose = false

    @OptionGroup var tls: ReplayTLSOptions

    @OptionGroup var metricsOptions: MetricsOptions

    @Option(
        help: ArgumentHelp(
            "permessage-deflate with clients that offer it (browsers do): auto compresses what is played when it "
                + "is worth it and inflates what the client sends; off never agrees to it.",
            valueName: "off|auto"))
    var compression = CompressionMode.auto

    @Option(help: ArgumentHelp("Also serve the files in DIR on the same port (e.g. noVNC's).", valueName: "DIR"))
    var web: String?

    @Flag(name: .customLong("file-only"), help: "No directory listings from the web server.")
    var fileOnly = false

    /// The options themselves: nothing is read (the rules file and the web root are checked when the
    /// configuration is built, in ``run()``, and reported as usage errors too).
    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number") }
        guard waitTimeout > 0, waitTimeout.isFinite else { throw ValidationError("--wait-timeout must be positive") }
        guard holdTimeout > 0, holdTimeout.isFinite else { throw ValidationError("--hold-timeout must be positive") }
        if closeAtEnd && holdTimeout != 30 { throw ValidationError("--close-at-end and --hold-timeout exclude each other") }
        if noRFB && (!allow.isEmpty || !ignore.isEmpty || rules != nil) {
            throw ValidationError("--allow, --ignore and --rules are RFB rules: they do not go with --no-rfb")
        }
        _ = try ruleSet(readingFile: false)
        if fast && speed != 1.0 { throw ValidationError("--speed and --fast exclude each other") }
        if once && loop { throw ValidationError("--once and --loop exclude each other") }
        _ = try tls.tlsSettings()
    }

    /// The RFB rules of --allow, --ignore and --rules (without `readingFile`, only the first two).
    func ruleSet(readingFile: Bool = true) throws(ValidationError) -> RFBRuleSet {
        do {
            return try RFBRuleSet.parse(allow: allow, ignore: ignore, rulesFile: readingFile ? rules : nil)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// The replay configuration the options describe; reads the rules file and checks the web root.
    func makeConfiguration() throws(ValidationError) -> ReplayConfiguration {
        let rules = try ruleSet()
        if let web {
            do {
                _ = try WebPathResolver(configuration: WebConfiguration(root: web))
            } catch {
                throw ValidationError("\(error)")
            }
        }
        var configuration = ReplayConfiguration(
            file: file, listenHost: listen, listenPort: port, session: session,
            engine: ReplayEngine.Options(
                pacing: fast ? .fast : .speed(speed), syncToClient: sync == .client,
                waitTimeoutNanos: UInt64(min(waitTimeout * 1e9, 9e18)), rfbAware: !noRFB, rules: rules,
                stopAtFirst: stopAtFirst, closeAtEnd: closeAtEnd, holdTimeoutNanos: UInt64(min(holdTimeout * 1e9, 9e18))),
            once: once, loop: loop, reportPath: report,
            web: web.map { WebConfiguration(root: $0, fileOnly: fileOnly) })
        configuration.recordClientPath = recordClient
        configuration.tls = try tls.tlsSettings()
        configuration.compression = compression
        return configuration
    }

    public func run() async throws {
        // First, so that a rules file or web root that can't be used is a usage error before anything runs.
        var configuration = try makeConfiguration()
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handler = FileLogHandler(label: label, sink: .standardError)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "wsreplay")
        let metrics: (metrics: ProxyMetrics, registry: MetricsRegistry, endpoint: MetricsEndpoint)?
        do {
            metrics = try await metricsOptions.start(logger: logger)
        } catch {
            FileLogHandler.Sink.standardError.writeRaw("wsreplay: \(error)\n")
            throw ExitCode.failure
        }
        configuration.metrics = metrics?.metrics
        metrics?.registry.describe(ReplayMetrics.help)
        let server = ReplayServer(configuration: configuration, logger: logger)
        var result = await server.run()
        try? await metrics?.endpoint.close()
        if let path = configuration.reportPath {
            do {
                try ReportFile.write(result.json(), to: path, modeOf: configuration.file)
            } catch {
                if result.error == nil { result.error = "cannot write the report \(path): \(error)" }
            }
        }
        FileLogHandler.Sink.standardError.writeRaw(result.summary() + "\n")
        throw ExitCode(result.exitCode)
    }

    public init() {}

    /// Like `AsyncParsableCommand.main()`, but usage errors exit with 2.
    public static func main() async {
        // --record-client's writer must see EFBIG past RLIMIT_FSIZE (a full disk to it), not be
        // killed by SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        await runOrExit(parseOrExit())
    }
}
