import ArgumentParser
import CLISupport
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Proxy
import RecordFormat
import ServiceLifecycle
import ServiceSupport

/// What `websockify` does once its options are valid: build the configuration (once), set up logging
/// and the daemon, and run the proxy with the recording and the wrapped program as one service group.
extension Websockify {
    public func run() async throws {
        // The configuration first: its problems (a token file or web root that isn't there) are usage
        // errors, reported before any file is opened. What the plugins log meanwhile is kept until
        // logging is set up.
        let startupLog = StartupLog()
        var configuration = try usageErrors { try makeConfiguration(pluginLogger: startupLog.logger(label: "websockify")) }
        do {
            // Certificates are read at start-up, so that a bad file is an error now; later versions of
            // the files are read when they change or on SIGHUP (a bad one then keeps the one in service).
            configuration.tls = try tls.tlsSettings()?.load()
            configuration.targetTLS =
                tls.sslTarget ? try TLSClient(trustFile: ProcessInfo.processInfo.environment["SSL_CERT_FILE"]) : nil
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
        startupLog.start()
        let logger = Logger(label: "websockify")
        if libserver { logger.warning("--libserver selects a Python engine in websockify 0.13; ignored here") }
        if let web { logger.info("web server: files from \(web)\(fileOnly ? " (no directory listings)" : "")") }
        let exit = WebsockifyExit()
        let program: ShutdownStep?
        do {
            program = try prepareOperations(&configuration, daemonChild: daemonChild, exit: exit, logger: logger)
        } catch {
            logger.error("\(error)")
            throw ExitCode.failure
        }
        if traffic { FileLogHandler.Sink.standardOutput.writeRaw(TrafficTap.legend) }
        let metricsEndpoint = try await startMetrics(into: &configuration, logger: logger)
        let recording = try recordingLayout().map { try openRecording($0, into: &configuration, logger: logger) }
        var services = WebsockifyServices(proxy: ProxyServer(configuration: configuration, logger: logger, handleSignals: false))
        services.afterProxy = [program, recording].compactMap { $0 }
        services.alongside = [HangUpReloader(proxy: services.proxy), ShutdownHurrier(proxy: services.proxy)]
        if let metricsEndpoint { services.alongside.append(metricsEndpoint) }
        exit.attach(services.proxy)
        if let step = Self.tokenPluginShutdownStep(for: configuration) { services.afterProxy.append(step) }
        do {
            try await services.makeGroup(logger: logger).run()
        } catch let error as ProxyError {
            logger.error("\(error.message)")
            throw ExitCode.failure
        } catch let error as OperationsError {
            logger.error("\(error.message)")
            throw ExitCode.failure
        }
        if let code = exit.code { throw ExitCode(code) }
    }

    /// Opens `--record`'s file (or the first of its rotated files, or checks `--record-dir`) and adds
    /// its tap; returns the step that drains and closes it and waits for `--record-on-close`'s commands.
    func openRecording(_ layout: RecordFileLayout, into configuration: inout ProxyConfiguration, logger: Logger) throws
        -> ShutdownStep
    {
        let onClose = try closedFileHandler(logger: logger)
        // While the disk stays full every dropped block fails: log the first, then a summary a minute.
        let failures = NIOLockedValueBox((reporter: RecordingFailureReporter(), lastError: ""))
        let recording: SessionRecording
        do {
            recording = try SessionRecording(
                layout: layout, redaction: try redaction(), mode: try recordFileMode(), onFileClosed: onClose.closed
            ) { event in
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
                case .rotationFailed(let error):
                    logger.error("recording: \(error); tried again in 10 s")
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
        if case .perSession = layout {
            logger.info("recording each session into a file of its own in \(recording.recorder.path)")
        } else if report.appended {
            logger.info("recording to \(recording.recorder.path), appending after session \(report.lastExistingSession)")
        } else {
            logger.info("recording to \(recording.recorder.path)")
        }
        if let at = report.truncatedAt {
            logger.warning("recording: cut a torn tail of \(report.truncatedBytes) bytes at byte \(at) of \(recording.recorder.path)")
        }
        if let bits = report.widerMode {
            let configured = String(try recordFileMode(), radix: 8)
            logger.warning(
                "recording: \(recording.recorder.path) has mode 0\(String(bits, radix: 8)), more open than --record-mode 0\(configured); an existing recording keeps its mode (chmod it to narrow it)"
            )
        }
        configuration.sessionTapFactories.append(recording.tapFactory)
        configuration.metrics?.recording.watch(recording.recorder)
        return ShutdownStep("recording") {
            await recording.close()
            await onClose.commands?.finish()
            let (notice, text) = failures.withLockedValue { state in
                (state.reporter.finish(at: NIODeadline.now().uptimeNanoseconds), state.lastError)
            }
            if let notice { logger.error("\(RecordingFailureReporter.message(for: notice, error: text))") }
        }
    }
}
