import ArgumentParser
import CLISupport
import Foundation
import Logging
import NIOCore
import Proxy
import RecordFormat
import ServiceSupport

/// From websockify's options to a ``ProxyConfiguration``, in two steps: ``validate()`` checks the options
/// themselves (no file read, no socket opened, no plugin made), and ``makeConfiguration(pluginLogger:)``,
/// called once by ``run()``, builds the configuration: it makes the plugins (which read their files),
/// checks the web root and picks the wrapped program's loopback port.
extension Websockify {
    public func validate() throws {
        try usageErrors { try checkOptions() }
    }

    /// Runs `body`, turning what it throws about the options into a usage error (exit status 2, with
    /// the usage lines), as `validate()` does, so that the configuration-building step reports its
    /// errors in the same way.
    func usageErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ProxyError {
            throw ValidationError(error.message)
        } catch let error as OperationsError {
            throw ValidationError(error.message)
        }
    }

    /// The checks of ``makeConfiguration(pluginLogger:)`` that need nothing but the options, in the same
    /// order, so that the first problem found is the one reported.
    func checkOptions() throws {
        let (listenText, targetText) = try positionalAddresses()
        _ = try listenText.map(AddressParsing.listen)
        let tokenPlugin = try tokenPluginOptions()
        if case .address(let address) = try targetChoice(targetText, tokenPlugin: tokenPlugin != nil) {
            _ = try AddressParsing.target(address)
        }
        try checkRecordingOptions()
        try checkTimes()
        _ = try tls.minimumVersion()
        _ = try authPluginOptions()
        _ = try listener()
        try checkOperationsOptions()
        try checkWebOptions()
        _ = try balancerSettings()
        _ = try healthCheck()
        try checkShutdownTimes()
    }

    /// Where sessions go, as the options say, before a plugin is made or a port picked.
    enum TargetChoice: Equatable {
        /// The token plugin picks each session's target.
        case tokenPlugin
        /// `target_addr:target_port`, not parsed yet.
        case address(String)
        case unixSocket(String)
        /// `-- PROGRAM`: a loopback port the program's bind() is moved to.
        case wrappedProgram
    }

    func targetChoice(_ targetText: String?, tokenPlugin: Bool) throws -> TargetChoice {
        if tokenPlugin, !wrapCommand.isEmpty {
            throw ProxyError.invalidOption(
                "--token-plugin", why: "picks targets per token; it can't be combined with wrapping a program")
        }
        // positionalAddresses() allowed neither a target nor --unix-target beside -- PROGRAM.
        if !wrapCommand.isEmpty { return .wrappedProgram }
        switch (targetText, unixTarget) {
        case (nil, nil) where tokenPlugin:
            return .tokenPlugin
        case (let other?, _) where tokenPlugin, (_, let other?) where tokenPlugin:
            throw ProxyError.invalidAddress(other, why: "a token plugin picks the targets: give no target with it")
        case (let address?, nil):
            return .address(address)
        case (nil, let path?):
            return .unixSocket(path)
        case (let address?, _?):
            throw ProxyError.invalidAddress(
                address, why: "give either target_addr:target_port or --unix-target, not both")
        case (nil, nil):
            // A missing argument, not a bad address.
            throw ValidationError(
                "a target is required: target_addr:target_port, --unix-target=FILE or --token-plugin=CLASS")
        }
    }

    /// The proxy configuration these flags describe. Reads the plugins' files, checks the web root and,
    /// with `-- PROGRAM`, picks a free loopback port; `pluginLogger` is the plugins' logger for good.
    func makeConfiguration(pluginLogger: Logger = Logger(label: "websockify", factory: { _ in SwiftLogNoOpLogHandler() }))
        throws -> ProxyConfiguration
    {
        let (listenText, targetText) = try positionalAddresses()
        let listen = try listenText.map(AddressParsing.listen) ?? (host: nil, port: 0)
        let tokenResolver = try makeTokenResolver(logger: pluginLogger)
        let upstream: ProxyConfiguration.Upstream
        switch (try targetChoice(targetText, tokenPlugin: tokenResolver != nil), tokenResolver) {
        case (.tokenPlugin, let resolver?): upstream = .resolver(resolver)
        case (.tokenPlugin, nil): preconditionFailure("targetChoice picks the token plugin only when there is one")
        case (.address(let address), _): upstream = .fixed(try AddressParsing.target(address))
        case (.unixSocket(let path), _): upstream = .fixed(.unixSocket(path: path))
        case (.wrappedProgram, _): upstream = .fixed(.hostPort(host: "127.0.0.1", port: try rebindPort()))
        }
        try checkRecordingOptions()
        try checkTimes()
        // Checked here, loaded by run().
        _ = try tls.tlsSettings()
        var configuration = ProxyConfiguration(
            listenHost: listen.host, listenPort: listen.port, preferIPv6: preferIPv6, upstream: upstream)
        configuration.runOnce = runOnce
        configuration.authenticator = try makeAuthenticator()
        // websockify treats 0 as "off" for all three.
        configuration.timeouts.serving = Self.seconds(timeout)
        configuration.timeouts.idle = Self.seconds(idleTimeout)
        configuration.heartbeatInterval = Self.seconds(heartbeat)
        connectionLimits.apply(to: &configuration)
        eventLoops.apply(to: &configuration)
        configuration.compression = compression
        if let maxMessageSize {
            guard maxMessageSize > 0 else {
                throw ProxyError.invalidOption("--max-message-size=\(maxMessageSize)", why: "must be a positive number of bytes")
            }
            configuration.limits.maxMessageSize = maxMessageSize
        }
        configuration.listener = try listener()
        try checkOperationsOptions()
        if traffic {
            let verbose = self.verbose
            configuration.sessionTapFactories.append { context in
                TrafficTap(sessionID: context.sessionID, verbose: verbose)
            }
        }
        try applyWebOptions(to: &configuration)
        configuration.balancer = try balancerSettings()
        configuration.healthCheck = try healthCheck()
        try checkShutdownTimes()
        applyShutdownTimes(to: &configuration.timeouts)
        return configuration
    }

    /// `--record-redact` and `--record-mode`: each needs `--record` (or `--record-per-session`), and
    /// takes its own values; then the files' options (``checkRecordingFileOptions()``).
    func checkRecordingOptions() throws {
        if recordRedact != nil && !recording {
            throw ProxyError.invalidOption("--record-redact", why: "needs --record")
        }
        _ = try redaction()
        if recordMode != nil && !recording {
            throw ProxyError.invalidOption("--record-mode", why: "needs --record")
        }
        _ = try recordFileMode()
        _ = try recordingLayout()
        _ = try onCloseJobs()
    }

    /// `--timeout`, `--idle-timeout`, `--heartbeat`: seconds, 0 or more.
    func checkTimes() throws {
        try Self.checkSeconds([("--timeout", timeout), ("--idle-timeout", idleTimeout), ("--heartbeat", heartbeat)])
    }

    /// The most seconds a time option takes (some 31 years): ``seconds(_:)`` counts nanoseconds in
    /// an `Int64`, which ends near 9.2·10⁹ s.
    static let maximumSeconds = 1e9

    /// Refuses a time option that is negative, not a number, infinite or above ``maximumSeconds``.
    static func checkSeconds(_ options: [(name: String, value: Double?)]) throws {
        for (name, value) in options {
            if let value, !(value >= 0 && value <= maximumSeconds) {
                throw ProxyError.invalidOption(
                    "\(name)=\(value)", why: "must be a number of seconds from 0 to \(Int(maximumSeconds))")
            }
        }
    }

    /// `--record-mode`, 0600 by default; permission bits only (no set-id or sticky bits).
    func recordFileMode() throws -> UInt32 {
        guard let recordMode else { return 0o600 }
        let mode = try Self.octalMode(recordMode, option: "--record-mode")
        guard mode <= 0o777 else {
            throw ProxyError.invalidOption("--record-mode=\(recordMode)", why: "takes permission bits, 0000 to 0777")
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
            default: throw ProxyError.invalidOption("--record-redact=\(part)", why: "takes auth and/or keys")
            }
        }
        return result
    }

    static func seconds(_ value: Double?) -> TimeAmount? {
        guard let value, value > 0 else { return nil }
        return .nanoseconds(Int64(min(value, maximumSeconds) * 1e9))
    }
}
