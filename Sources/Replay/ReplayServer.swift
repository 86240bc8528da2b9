import Logging
import NIOConcurrencyHelpers
import NIOCore
import Proxy
import RFBRules
import RecordFormat
import StaticWeb

/// Serves a recording over WebSocket with the proxy's server stack, one recorded session per
/// connection, and returns the report once done.
public final class ReplayServer: Sendable {
    public let configuration: ReplayConfiguration
    private let logger: Logger
    private let server = NIOLockedValueBox<ProxyServer?>(nil)

    public init(configuration: ReplayConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The port listened on, once bound.
    public var localPort: Int? { server.withLockedValue { $0?.localPort } }

    /// Stops as on SIGTERM.
    public func stop() { server.withLockedValue { $0 }?.stop() }

    /// Loads the recording, serves it until done (or stopped), and reports.
    public func run(handleSignals: Bool = true) async -> ReplayReport {
        let recording: Recording
        do {
            recording = try Recording.load(path: configuration.file)
        } catch {
            switch error {
            case .io(let text):
                return ReplayReport(
                    file: configuration.file, format: "unknown", error: "cannot read \(configuration.file): \(text)")
            case .corrupt(let text):
                return ReplayReport(file: configuration.file, format: "unknown", damages: [text])
            }
        }
        var report = ReplayReport(file: configuration.file, format: recording.format, damages: recording.damages)
        report.timeProblems = recording.timeProblems
        report.rules = configuration.engine.rules.summary
        report.gaps = recording.gaps
        for gap in recording.gaps { logger.warning("recording gap: \(gap); playing around it") }
        for damage in recording.damages {
            logger.warning("recording damaged: \(damage); playing up to the last good block")
        }
        for problem in recording.timeProblems {
            logger.warning("recording: \(problem); playing it right after the record before it")
        }
        var sessions = recording.sessions
        if let pinned = configuration.session {
            guard let session = sessions.first(where: { $0.number == pinned }) else {
                let numbers = sessions.map { String($0.number) }.joined(separator: ", ")
                report.error =
                    "no session \(pinned) in \(configuration.file) (sessions: \(numbers.isEmpty ? "none" : numbers))"
                return report
            }
            sessions = [session]
        }
        guard !sessions.isEmpty else {
            if report.damages.isEmpty { report.error = "\(configuration.file) holds no session to replay" }
            return report
        }
        let provider = ReplayProvider(
            sessions: sessions, options: configuration.engine, loop: configuration.loop,
            transcripts: configuration.recordClientPath != nil,
            metrics: configuration.metrics.map { ReplayMetrics(factory: $0.factory) }
        ) { [self] in
            stop()
        }
        var proxyConfiguration = ProxyConfiguration(
            listenHost: configuration.listenHost, listenPort: configuration.listenPort, upstream: .backend(provider))
        proxyConfiguration.runOnce = configuration.once
        proxyConfiguration.metrics = configuration.metrics
        proxyConfiguration.compression = configuration.compression
        proxyConfiguration.timeouts.shutdownGrace = .seconds(2)
        if let tls = configuration.tls {
            do {
                proxyConfiguration.tls = try tls.load()
            } catch {
                report.error = "\(error)"
                return report
            }
        }
        if let web = configuration.web {
            do {
                proxyConfiguration.webResponder = try StaticFileServer(configuration: web, logLabel: "wsreplay.web")
            } catch {
                report.error = "\(error)"
                return report
            }
            logger.info("web server: files from \(web.root)\(web.fileOnly ? " (no directory listings)" : "")")
        }
        let proxy = ProxyServer(configuration: proxyConfiguration, logger: logger, handleSignals: handleSignals)
        server.withLockedValue { $0 = proxy }
        logger.info(
            "replaying \(sessions.count) session(s) of \(configuration.file) (\(recording.format)): sessions \(sessions.map { String($0.number) }.joined(separator: ", "))"
        )
        do {
            try await proxy.run()
        } catch {
            report.error = "\(error)"
        }
        report.sessions = provider.results
        report.noClient = report.sessions.isEmpty
        if let path = configuration.recordClientPath {
            do {
                try ReplayTranscript.write(report.sessions.compactMap(\.transcript), to: path)
                logger.info("--record-client: \(report.sessions.count) session(s) written to \(path)")
            } catch {
                report.error = "cannot write --record-client \(path): \(error)"
            }
        }
        return report
    }
}
