import Dispatch
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs the program websockify wraps (`websockify PORT -- PROGRAM ARGS…`) with `librebind.so`
/// preloaded, and follows ``ProgramWrapperConfiguration/Mode`` when it exits.
///
/// Start it once the proxy listens (``start()``); ``stop()`` on shutdown terminates the program.
/// A supervising thread waits for the program; in `exit` mode it calls `onExit` with the status.
public final class ProgramWrapper: Sendable {
    public let configuration: ProgramWrapperConfiguration
    private let logger: Logger
    private let environment: [String: String]
    private let onExit: @Sendable (ExitStatus) -> Void
    private let state = NIOLockedValueBox(State())
    /// Signalled by ``stop()`` to cut a respawn delay short.
    private let wake = DispatchSemaphore(value: 0)

    private struct State {
        /// The running program, until it has exited (it may be a zombie: safe to signal).
        var pid: pid_t?
        var starts = 0
        var stopping = false
        var supervising = false
    }

    /// - Parameters:
    ///   - environment: the environment the program's is made from (usually this process's).
    ///   - onExit: called once in `exit` mode when the program exits on its own.
    public init(
        configuration: ProgramWrapperConfiguration,
        environment: [String: String],
        logger: Logger,
        onExit: @escaping @Sendable (ExitStatus) -> Void
    ) {
        self.configuration = configuration
        self.environment = configuration.environment(base: environment)
        self.logger = logger
        self.onExit = onExit
    }

    /// How many times the program has been started.
    public var starts: Int { state.withLockedValue { $0.starts } }

    /// Starts the program; throws when it cannot be started at all (not found, not executable).
    public func start() throws {
        let started: (pid: pid_t, at: ContinuousClock.Instant)? = try state.withLockedValue { state in
            guard !state.stopping, !state.supervising else { return nil }
            let pid = try spawnLocked(&state)
            state.supervising = true
            return (pid, .now)
        }
        guard let started else { return }
        DispatchQueue(label: "websockify.wrapped-program").async { [self] in
            supervise(pid: started.pid, startedAt: started.at)
        }
    }

    /// Terminates the program (SIGTERM, then SIGKILL after the grace period) and waits for it.
    public func stop() async {
        let pid: pid_t? = state.withLockedValue { state in
            state.stopping = true
            return state.pid
        }
        wake.signal()
        guard let pid else { return }
        logger.info("stopping wrapped program (pid \(pid))")
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + configuration.stopGracePeriod
        while isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let stillRunning: pid_t? = state.withLockedValue { $0.pid }
        if let stillRunning {
            logger.warning("wrapped program (pid \(stillRunning)) ignored SIGTERM for \(configuration.stopGracePeriod); killing it")
            kill(stillRunning, SIGKILL)
            let cutDeadline = ContinuousClock.now + .seconds(2)
            while isRunning, ContinuousClock.now < cutDeadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    private var isRunning: Bool { state.withLockedValue { $0.pid != nil } }

    /// Spawns the program; the caller holds the lock, so ``stop()`` sees the pid or prevents the start.
    private func spawnLocked(_ state: inout State) throws -> pid_t {
        let streams: [ProcessSpawner.FileAction] =
            configuration.nullStandardStreams
            ? [.open(fd: 0, path: "/dev/null", flags: O_RDONLY), .open(fd: 1, path: "/dev/null", flags: O_WRONLY),
                .open(fd: 2, path: "/dev/null", flags: O_WRONLY)] : []
        switch ProcessSpawner.spawn(configuration.command, environment: environment, fileActions: streams) {
        case .success(let pid):
            state.pid = pid
            state.starts += 1
            logger.info(
                "started wrapped program '\(configuration.command.joined(separator: " "))' (pid \(pid)); its port \(configuration.listenPort) is moved to 127.0.0.1:\(configuration.rebindPort)"
            )
            return pid
        case .failure(let error):
            throw OperationsError.wrap(
                "cannot start '\(configuration.command[0])': \(error.text); check the program name, PATH and permissions"
            )
        }
    }

    private func supervise(pid first: pid_t, startedAt: ContinuousClock.Instant) {
        var pid = first
        var startedAt = startedAt
        var backoff = configuration.backoff
        while true {
            ProcessSpawner.waitUntilExited(pid)
            let stopping = state.withLockedValue { state in
                state.pid = nil
                return state.stopping
            }
            let status = ProcessSpawner.reap(pid)
            let uptime = ContinuousClock.now - startedAt
            if stopping {
                logger.info("wrapped program stopped (\(status))")
                return
            }
            switch configuration.mode {
            case .exit:
                logger.info("wrapped program exited (\(status)); exiting too (--wrap-mode=exit)")
                onExit(status)
                return
            case .ignore:
                logger.info("wrapped program exited (\(status)); still serving (--wrap-mode=ignore)")
                return
            case .respawn:
                var delay = backoff.delay(afterRunningFor: uptime)
                logger.warning(
                    "wrapped program exited (\(status)) after \(uptime.formattedSeconds); restarting \(delay == .zero ? "it now" : "in \(delay.formattedSeconds)") (--wrap-mode=respawn)"
                )
                while true {
                    if delay > .zero {
                        _ = wake.wait(timeout: .now() + .nanoseconds(Int(delay.nanoseconds)))
                    }
                    do {
                        let next: pid_t? = try state.withLockedValue { state in
                            state.stopping ? nil : try spawnLocked(&state)
                        }
                        guard let next else { return }
                        pid = next
                        startedAt = .now
                        break
                    } catch {
                        delay = backoff.delay(afterRunningFor: .zero)
                        logger.error("\(error); trying again in \(delay.formattedSeconds)")
                    }
                }
            }
        }
    }
}

extension ProgramWrapper {
    /// A TCP port free on 127.0.0.1 a moment ago, for ``ProgramWrapperConfiguration/rebindPort``.
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw OperationsError.wrap("cannot pick a loopback port: \(OperationsError.text(ofErrno: errno))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw OperationsError.wrap("cannot pick a loopback port: \(OperationsError.text(ofErrno: errno))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
