import ArgumentParser
import Foundation
import Logging
import Proxy
import ServiceSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Flags for running as a service (`-D`, `--inetd`, `--unix-listen`, `--syslog`, `-- PROGRAM`)
/// mapped onto Proxy's operations types.
extension Websockify {
    /// The positional addresses: `[source_addr:]source_port` and the target; with `--inetd` or
    /// `--unix-listen`, which replace the listen address, the only positional is the target.
    func positionalAddresses() throws -> (listen: String?, target: String?) {
        if inetd && unixListen != nil {
            throw OperationsError.option("give either --inetd or --unix-listen, not both")
        }
        if inetd || unixListen != nil {
            let flag = inetd ? "--inetd" : "--unix-listen"
            if !wrapCommand.isEmpty {
                throw OperationsError.option(
                    "-- PROGRAM needs [source_addr:]source_port, the port the program binds; it cannot be combined with \(flag)")
            }
            if let extra = target {
                throw ProxyError.invalidAddress(extra, why: "too many arguments: with \(flag) give only target_addr:target_port")
            }
            return (nil, source)
        }
        guard let source else {
            // A missing argument, not a bad address.
            throw ValidationError("[source_addr:]source_port is required")
        }
        if !wrapCommand.isEmpty {
            if let target {
                throw ProxyError.invalidAddress(
                    target, why: "with -- PROGRAM give no target: websockify proxies to the port the program binds")
            }
            if unixTarget != nil {
                throw OperationsError.option("--unix-target cannot be combined with -- PROGRAM")
            }
            if try AddressParsing.listen(source).port == 0 {
                throw OperationsError.option("-- PROGRAM needs the program's real port as source_port, not 0")
            }
        }
        return (source, target)
    }

    /// A loopback port for the wrapped program (the proxy's target).
    func rebindPort() throws -> Int { try ProgramWrapper.freeLoopbackPort() }

    /// `--inetd` → descriptor 0, `--unix-listen` → the socket file, else the TCP address.
    func listener() throws -> ProxyConfiguration.Listener {
        let mode = try Self.octalMode(unixListenMode ?? "0600")
        if inetd { return .inherited(descriptor: 0) }
        if let unixListen { return .unixSocket(path: Self.absolute(unixListen), mode: mode) }
        return .address
    }

    /// Operations options that are checked at parse time (exit 2) but not part of the proxy's configuration.
    func checkOperationsOptions() throws {
        _ = try wrapModeValue()
        _ = try syslogDestination()
    }

    /// `0600`, `600` or `0o600`, the value of `option`.
    static func octalMode(_ text: String, option: String = "--unix-listen-mode") throws -> UInt32 {
        let digits = text.hasPrefix("0o") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, let mode = UInt32(digits, radix: 8), mode <= 0o7777 else {
            throw OperationsError.option("\(option)=\(text): give permission bits in octal, such as 0600 or 660")
        }
        return mode
    }

    func wrapModeValue() throws -> ProgramWrapperConfiguration.Mode {
        guard let wrapMode else { return .exit }
        guard let mode = ProgramWrapperConfiguration.Mode(rawValue: wrapMode) else {
            throw OperationsError.option("--wrap-mode=\(wrapMode): choose exit, ignore or respawn")
        }
        return mode
    }

    func syslogDestination() throws -> SyslogDestination? {
        if legacySyslog && syslog == nil {
            throw OperationsError.option("--legacy-syslog needs --syslog")
        }
        return try syslog.map { try SyslogDestination(parsing: $0, workingDirectory: Self.workingDirectory) }
    }

    /// Options given where they do nothing (websockify 0.13 accepts them too).
    func operationsWarnings() -> [String] {
        var warnings: [String] = []
        if wrapMode != nil && wrapCommand.isEmpty { warnings.append("--wrap-mode has no effect without -- PROGRAM") }
        if unixListenMode != nil && unixListen == nil {
            warnings.append("--unix-listen-mode has no effect without --unix-listen")
        }
        return warnings
    }

    /// The syslog destination, checked before anything is logged; nil without `--syslog`. What the
    /// sink has to say about its own delivery goes to `logFile` (the log file or standard error).
    func makeSyslogSink(reportingTo logFile: FileLogHandler.Sink) throws -> SyslogLogHandler.Sink? {
        guard let destination = try syslogDestination() else { return nil }
        var local = false
        if case .unixSocket = destination { local = true }
        // A local daemon reads RFC 3164's tag where a remote one reads the host name (syslog(3) style).
        let formatter = SyslogFormatter(
            style: legacySyslog ? .rfc3164 : .rfc5424, facility: daemon ? .daemon : .user,
            hostname: legacySyslog && local ? nil : Self.hostname, processID: getpid())
        let reporter = FileLogHandler(label: "websockify", sink: logFile)
        return try SyslogLogHandler.Sink(destination: destination, formatter: formatter) { text in
            reporter.log(
                event: LogEvent(
                    level: .warning, message: "\(text)", metadata: nil, source: "websockify", file: #fileID,
                    function: #function, line: #line))
        }
    }

    /// `handler`, plus standard error when asked and syslog when `--syslog` is given.
    static func adding(
        to handler: FileLogHandler, standardError: Bool, syslog sink: SyslogLogHandler.Sink?, label: String,
        level: Logger.Level
    ) -> any LogHandler {
        var handlers: [any LogHandler] = [handler]
        if standardError {
            var terminal = FileLogHandler(label: label, sink: .standardError)
            terminal.logLevel = level
            handlers.append(terminal)
        }
        if let sink {
            var syslog = SyslogLogHandler(label: label, sink: sink)
            syslog.logLevel = level
            handlers.append(syslog)
        }
        return handlers.count == 1 ? handler : MultiplexLogHandler(handlers)
    }

    /// Sets up the wrapped program and the daemon's detaching, both at the moment the server listens;
    /// returns the step that stops the program when the proxy has stopped, with `-- PROGRAM`.
    func prepareOperations(
        _ configuration: inout ProxyConfiguration, daemonChild: DaemonChild?, exit: WebsockifyExit, logger: Logger
    ) throws -> ShutdownStep? {
        for warning in operationsWarnings() { logger.warning("\(warning)") }
        var wrapper: ProgramWrapper?
        if !wrapCommand.isEmpty, case .fixed(.hostPort(_, let port)) = configuration.upstream {
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: DaemonLauncher.readinessVariable)
            let program = wrapCommand[0].contains("/") ? Self.absolute(wrapCommand[0]) : wrapCommand[0]
            let wrap = ProgramWrapperConfiguration(
                command: [program] + wrapCommand.dropFirst(), mode: try wrapModeValue(),
                listenPort: configuration.listenPort, rebindPort: port,
                libraryPath: try RebindLibrary.locate(environment: environment),
                nullStandardStreams: daemonChild != nil)
            wrapper = ProgramWrapper(configuration: wrap, environment: environment, logger: logger) { status in
                exit.finish(code: status.shellCode)
            }
        }
        if daemonChild != nil, case .fixed(.unixSocket(let path)) = configuration.upstream {
            // Sessions connect after the daemon moved to /.
            configuration.upstream = .fixed(.unixSocket(path: Self.absolute(path)))
        }
        let keepStandardInput = inetd
        configuration.listeningHook = { [wrapper] in
            // Before the program's first start, so that a respawn runs in the same directory.
            daemonChild?.leaveWorkingDirectory()
            if let wrapper {
                do {
                    try wrapper.start()
                } catch {
                    logger.error("\(error)")
                    exit.finish(code: 1)
                    return
                }
            }
            daemonChild?.detach(keepStandardInput: keepStandardInput)
        }
        return wrapper.map { wrapper in ShutdownStep("wrapped program") { await wrapper.stop() } }
    }

    static var workingDirectory: String { FileManager.default.currentDirectoryPath }

    static func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : "\(workingDirectory)/\(path)" }

    static var hostname: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "-" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
