import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Proxy
import RecordFormat
import WebsockifyCLI

#if canImport(Glibc)
    import Glibc
#endif

/// `websockify`: maps websockify 0.13's command line onto ``ProxyConfiguration`` and runs.
@main
struct Websockify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "websockify",
        abstract: "WebSocket-to-TCP proxy, compatible with websockify 0.13.",
        usage: """
            websockify [options] [source_addr:]source_port target_addr:target_port
            websockify [options] --token-plugin=CLASS [source_addr:]source_port
            websockify [options] --unix-target=FILE [source_addr:]source_port
            websockify [options] [source_addr:]source_port -- WRAP_COMMAND_LINE
            websockify [options] --inetd|--unix-listen=FILE target_addr:target_port
            """
    )

    @Argument(
        help: "Listen address: [source_addr:]source_port (IPv6 in brackets); the target with --inetd or --unix-listen.")
    var source: String?

    @Argument(help: "Target address: target_addr:target_port (IPv6 in brackets).")
    var target: String?

    @Option(name: .customLong("unix-target"), help: ArgumentHelp("connect to unix socket target", valueName: "FILE"))
    var unixTarget: String?

    @Flag(name: [.customShort("6"), .customLong("prefer-ipv6")], help: "prefer IPv6 when resolving source_addr")
    var preferIPv6 = false

    @Flag(name: .shortAndLong, help: "verbose messages")
    var verbose = false

    @Flag(help: "per frame traffic")
    var traffic = false

    @Flag(name: .customLong("run-once"), help: "handle a single WebSocket connection and exit")
    var runOnce = false

    @Option(help: ArgumentHelp("after TIMEOUT seconds exit when not connected", valueName: "TIMEOUT"))
    var timeout: Double?

    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp(
            "server exits after TIMEOUT seconds if there are no active connections", valueName: "IDLE_TIMEOUT"))
    var idleTimeout: Double?

    @Option(help: ArgumentHelp("send a ping to the client every INTERVAL seconds", valueName: "INTERVAL"))
    var heartbeat: Double?

    @Option(name: .customLong("log-file"), help: ArgumentHelp("File where logs will be saved", valueName: "FILE"))
    var logFile: String?

    @Option(
        help: ArgumentHelp(
            "record sessions to FILE.rec (FILE itself when it ends in .rec); a restart appends",
            valueName: "FILE"))
    var record: String?

    @Option(
        name: .customLong("record-redact"),
        help: ArgumentHelp(
            "keep out of recordings: auth (VNC authentication response), keys (RFB key events); comma-separated",
            valueName: "WHAT"))
    var recordRedact: String?

    @Option(
        name: .customLong("record-mode"),
        help: ArgumentHelp(
            "permission bits of a new recording file, in octal (default 0600: recordings hold what was typed, "
                + "passwords included; e.g. 0640 to let the group read them); an existing file keeps its mode",
            valueName: "MODE"))
    var recordMode: String?

    // MARK: TLS

    @OptionGroup var tls: ProxyTLSOptions

    // Token and auth plugins (websockify's names; see docs/proxy.md "Tokens and auth").
    @Option(
        name: .customLong("token-plugin"),
        help: ArgumentHelp(
            "pick each session's target by token: TokenFile, ReadOnlyTokenFile, JWTTokenApi, TokenRedis",
            valueName: "CLASS"))
    var tokenPlugin: String?

    @Option(
        name: .customLong("token-source"),
        help: ArgumentHelp("the token plugin's source (file or directory, key file, redis address)", valueName: "ARG"))
    var tokenSource: String?

    @Flag(
        name: .customLong("host-token"),
        help: "use the host HTTP header as token instead of the token URL query parameter")
    var hostToken = false

    @Option(
        name: .customLong("target-config"),
        help: ArgumentHelp(
            "token file or directory of 'token: host:port' lines (DEPRECATED: use --token-plugin TokenFile --token-source FILE)",
            valueName: "FILE"))
    var targetConfig: String?

    @Option(
        name: .customLong("auth-plugin"),
        help: ArgumentHelp(
            "check requests before the upgrade: BasicHTTPAuth, ExpectOrigin, ClientCertCNAuth", valueName: "CLASS"))
    var authPlugin: String?

    @Option(name: .customLong("auth-source"), help: ArgumentHelp("the auth plugin's argument", valueName: "ARG"))
    var authSource: String?

    // Static web server on the same port (see Websockify+Web.swift).
    @Option(help: ArgumentHelp("also answer plain HTTP requests on the same port with the files in DIR", valueName: "DIR"))
    var web: String?

    @Flag(name: .customLong("file-only"), help: "no directory listings from the web server")
    var fileOnly = false

    @Flag(name: .customLong("web-auth"), help: "web requests must pass the auth plugin too")
    var webAuth = false

    @Flag(help: "accepted for compatibility with websockify 0.13 (its Python SocketServer engine); ignored")
    var libserver = false

    @Flag(name: [.customShort("D"), .long], help: "run in the background once listening (new session, working directory /)")
    var daemon = false

    @Option(name: .customLong("unix-listen"), help: ArgumentHelp("listen on a unix socket at FILE instead of a TCP port", valueName: "FILE"))
    var unixListen: String?

    @Option(
        name: .customLong("unix-listen-mode"),
        help: ArgumentHelp("permission bits of the --unix-listen socket, in octal (default 0600)", valueName: "UNIX_LISTEN_MODE"))
    var unixListenMode: String?

    @Flag(help: "serve the listening socket given as standard input (inetd wait mode, systemd Accept=no)")
    var inetd = false

    @Option(
        name: .customLong("wrap-mode"),
        help: ArgumentHelp(
            "when the wrapped program exits: exit (with its status; the default), ignore, respawn",
            valueName: "MODE"))
    var wrapMode: String?

    @Option(
        help: ArgumentHelp(
            "also log to syslog: a local socket such as /dev/log, a UDP server as HOST:PORT, or a TCP server as "
                + "tcp:HOST:PORT; lines wait (up to 10000) while the server is not reachable",
            valueName: "SERVER"))
    var syslog: String?

    @Flag(
        name: .customLong("legacy-syslog"),
        help: "send RFC 3164 syslog messages instead of RFC 5424, for receivers that misread RFC 5424")
    var legacySyslog = false

    @Argument(
        parsing: .postTerminator,
        help: ArgumentHelp(
            "after --: a program to run with its bind() of source_port moved to a loopback port, which is proxied",
            valueName: "WRAP_COMMAND_LINE"))
    var wrapCommand: [String] = []

    func validate() throws {
        do {
            _ = try makeConfiguration()
        } catch let error as ProxyError {
            throw ValidationError(error.message)
        } catch let error as OperationsError {
            throw ValidationError(error.message)
        }
    }

    /// The proxy configuration these flags describe.
    func makeConfiguration(pluginLogger: Logger = Websockify.silentLogger) throws -> ProxyConfiguration {
        let (listenText, targetText) = try positionalAddresses()
        let listen = try listenText.map(AddressParsing.listen) ?? (host: nil, port: 0)
        let upstream: ProxyConfiguration.Upstream
        let tokenResolver = try makeTokenResolver(logger: pluginLogger)
        if tokenResolver != nil, !wrapCommand.isEmpty {
            throw ProxyError.invalidOption("--token-plugin", why: "picks targets per token; it can't be combined with wrapping a program")
        }
        switch (wrapCommand.isEmpty ? targetText : "127.0.0.1:\(try rebindPort())", unixTarget) {
        case (nil, nil) where tokenResolver != nil:
            upstream = .resolver(tokenResolver!)
        case (let other?, _) where tokenResolver != nil, (_, let other?) where tokenResolver != nil:
            throw ProxyError.invalidAddress(other, why: "a token plugin picks the targets: give no target with it")
        case (let address?, nil):
            upstream = .fixed(try AddressParsing.target(address))
        case (nil, let path?):
            upstream = .fixed(.unixSocket(path: path))
        case (_?, _?):
            throw ProxyError.invalidAddress(
                targetText ?? unixTarget!, why: "give either target_addr:target_port or --unix-target, not both")
        case (nil, nil):
            throw ProxyError.invalidAddress(source ?? "", why: "a target is required: target_addr:target_port, --unix-target=FILE or --token-plugin=CLASS")
        }
        if recordRedact != nil && record == nil {
            throw ProxyError.invalidAddress(recordRedact!, why: "--record-redact needs --record")
        }
        _ = try redaction()
        if recordMode != nil && record == nil {
            throw ProxyError.invalidAddress(recordMode!, why: "--record-mode needs --record")
        }
        _ = try recordFileMode()
        for (name, value) in [("--timeout", timeout), ("--idle-timeout", idleTimeout), ("--heartbeat", heartbeat)] {
            if let value, !(value >= 0) || !value.isFinite {
                throw ProxyError.invalidAddress("\(value)", why: "\(name) must be a non-negative number of seconds")
            }
        }
        _ = try tls.tlsSettings()
        var configuration = ProxyConfiguration(
            listenHost: listen.host, listenPort: listen.port, preferIPv6: preferIPv6, upstream: upstream)
        configuration.runOnce = runOnce
        configuration.authenticator = try makeAuthenticator()
        // websockify treats 0 as "off" for all three.
        configuration.timeouts.serving = Self.seconds(timeout)
        configuration.timeouts.idle = Self.seconds(idleTimeout)
        configuration.heartbeatInterval = Self.seconds(heartbeat)
        configuration.listener = try listener()
        try checkOperationsOptions()
        if traffic {
            let verbose = self.verbose
            configuration.sessionTapFactories.append { context in
                TrafficTap(sessionID: context.sessionID, verbose: verbose)
            }
        }
        try applyWebOptions(to: &configuration)
        return configuration
    }

    /// `--record-mode`, 0600 by default; permission bits only (no set-id or sticky bits).
    func recordFileMode() throws -> UInt32 {
        guard let recordMode else { return 0o600 }
        let mode = try Self.octalMode(recordMode, option: "--record-mode")
        guard mode <= 0o777 else {
            throw ProxyError.invalidAddress(recordMode, why: "--record-mode takes permission bits, 0000 to 0777")
        }
        return mode
    }

    /// The parts of `--record-redact`.
    func redaction() throws -> RecordingRedaction {
        var result: RecordingRedaction = []
        for part in (recordRedact ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
        where !part.isEmpty {
            switch part {
            case "auth": result.insert(.auth)
            case "keys": result.insert(.keys)
            default: throw ProxyError.invalidAddress(part, why: "--record-redact takes auth and/or keys")
            }
        }
        return result
    }

    static func seconds(_ value: Double?) -> TimeAmount? {
        guard let value, value > 0 else { return nil }
        return .nanoseconds(Int64(value * 1e9))
    }

    func run() async throws {
        let tls: TLSServer?
        let targetTLS: TLSClient?
        do {
            // Certificates are read at start-up, so that a bad file is an error now, not per connection.
            tls = try self.tls.tlsSettings()?.load()
            targetTLS = self.tls.sslTarget ? try TLSClient(trustFile: ProcessInfo.processInfo.environment["SSL_CERT_FILE"]) : nil
        } catch let error as ProxyError {
            FileLogHandler.Sink.standardError.writeRaw("websockify: \(error.message)\n")
            throw ExitCode.failure
        }
        let daemonChild = daemon ? DaemonChild.adopt() : nil
        let sink = try logFile.map { try FileLogHandler.Sink(path: $0) } ?? .standardError
        let syslogSink = try makeSyslogSink(reportingTo: sink)
        // Whatever ends the run, lines still queued for syslog ("stopped", the error) go out first.
        defer { syslogSink?.finish() }
        let level: Logger.Level = verbose ? .debug : .info
        // A daemon's messages also reach the terminal until it detaches (then standard error is /dev/null).
        let alsoStandardError = daemonChild != nil && logFile != nil
        LoggingSystem.bootstrap { label in
            var handler = FileLogHandler(label: label, sink: sink)
            handler.logLevel = level
            return Self.adding(
                to: handler, standardError: alsoStandardError, syslog: syslogSink, label: label, level: level)
        }
        let logger = Logger(label: "websockify")
        // Built once logging is up, so the token file's diagnostics are logged (validate() built it
        // silently only to check the options).
        var configuration = try makeConfiguration(pluginLogger: logger)
        configuration.tls = tls
        configuration.targetTLS = targetTLS
        if libserver { logger.warning("--libserver selects a Python engine in websockify 0.13; ignored here") }
        if let web { logger.info("web server: files from \(web)\(fileOnly ? " (no directory listings)" : "")") }
        let operations: Operations
        do {
            operations = try prepareOperations(&configuration, daemonChild: daemonChild, logger: logger)
        } catch {
            logger.error("\(error)")
            throw ExitCode.failure
        }
        if traffic { FileLogHandler.Sink.standardOutput.writeRaw(TrafficTap.legend) }
        var openedRecording: SessionRecording?
        if let record {
            let recording: SessionRecording
            // While the disk stays full every dropped block fails: log the first, then a summary a minute.
            let failures = NIOLockedValueBox((reporter: RecordingFailureReporter(), lastError: ""))
            do {
                recording = try SessionRecording(file: record, redaction: try redaction(), mode: try recordFileMode()) {
                    event in
                    switch event {
                    case .dropped(records: let records, bytes: let bytes):
                        logger.warning("recording fell behind: dropped \(records) records (\(bytes) bytes); the gap is marked in the file")
                    case .writeFailed(let error):
                        let text = "\(error)"
                        let notice = failures.withLockedValue { state in
                            state.lastError = text
                            return state.reporter.failed(at: NIODeadline.now().uptimeNanoseconds)
                        }
                        if let notice { logger.error("\(RecordingFailureReporter.message(for: notice, error: text))") }
                    case .writingAgain:
                        let notice = failures.withLockedValue { state in
                            state.reporter.writing(at: NIODeadline.now().uptimeNanoseconds)
                        }
                        if let notice { logger.notice("\(RecordingFailureReporter.message(for: notice, error: ""))") }
                    }
                }
            } catch {
                logger.error("cannot record: \(error)")
                throw ExitCode.failure
            }
            let report = recording.recorder.appendReport
            if report.appended {
                logger.info("recording to \(recording.recorder.path), appending after session \(report.lastExistingSession)")
            } else {
                logger.info("recording to \(recording.recorder.path)")
            }
            if let at = report.truncatedAt {
                logger.warning("recording: cut a torn tail of \(report.truncatedBytes) bytes at byte \(at) of \(recording.recorder.path)")
            }
            openedRecording = recording
            configuration.sessionTapFactories.append(recording.tapFactory)
            let previous = configuration.shutdownHook
            configuration.shutdownHook = {
                await previous?()
                await recording.close()
                let (notice, text) = failures.withLockedValue { state in
                    (state.reporter.finish(at: NIODeadline.now().uptimeNanoseconds), state.lastError)
                }
                if let notice { logger.error("\(RecordingFailureReporter.message(for: notice, error: text))") }
            }
        }
        let server = ProxyServer(configuration: configuration, logger: logger)
        operations.attach(server)
        do {
            try await server.run()
        } catch let error as ProxyError {
            // The shutdown hook did not run (e.g. the port was in use): close the recording here.
            await openedRecording?.close()
            logger.error("\(error.message)")
            throw ExitCode.failure
        } catch let error as OperationsError {
            await openedRecording?.close()
            logger.error("\(error.message)")
            throw ExitCode.failure
        }
        if let code = operations.exitCode { throw ExitCode(code) }
    }

    /// Like `AsyncParsableCommand.main()`, but argument errors exit with 2 as websockify's optparse does.
    static func main() async {
        // A recording that reaches a file-size limit must fail its write (EFBIG, handled like a
        // full disk), not kill the proxy with SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        // Frame and read buffers of 64–256 KiB come and go all the time. With glibc's adaptive
        // thresholds they sometimes land on fresh mmap'd or trimmed pages, and every one of those
        // page-faults (measured: 180,000 faults and +50% CPU per GB relayed, intermittently). Fixed
        // thresholds keep them on the reused heap.
        // (M_MMAP_THRESHOLD = -3 and M_TRIM_THRESHOLD = -1 in glibc's <malloc.h>, which Swift's
        // Glibc module does not import.)
        _ = glibcMallopt(-3, 4 << 20)
        _ = glibcMallopt(-1, 64 << 20)
        let command = parseOrExit()
        if command.daemon && !DaemonChild.isLaunched {
            // Before any event loop: the daemon is this program run again, in the background.
            Glibc.exit(
                DaemonLauncher.launch(
                    arguments: CommandLine.arguments, environment: ProcessInfo.processInfo.environment,
                    keepStandardInput: command.inetd, report: FileLogHandler.Sink.standardError.writeRaw))
        }
        await runOrExit(command)
    }
}

/// glibc's `mallopt(3)`: <malloc.h> is not part of Swift's Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
