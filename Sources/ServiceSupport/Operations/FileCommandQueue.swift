import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a shell command for each file handed to it (websockify's `--record-on-close CMD`: upload or
/// move a closed recording), at most ``limit`` at once; more files wait in order.
///
/// The command is run as `/bin/sh -c CMD websockify-on-close FILE`: the file's path is `$1`, and
/// also in the environment as `WEBSOCKIFY_RECORD_FILE` with whatever ``submit(_:prepare:)``'s
/// `prepare` adds. `prepare` runs first on the worker (e.g. to verify the file) and may log. A
/// command that fails (a non-zero status, a signal, or one that cannot be started) is logged with
/// its status; the file is left where it is. The command's standard output and error are the
/// process's own.
public final class FileCommandQueue: @unchecked Sendable {
    public let command: String
    /// Commands running at most at once. Bounded so that a burst of closed files (a per-session
    /// recording when many sessions end) cannot start a process each.
    public let limit: Int
    private let logger: Logger
    private let condition = NSCondition()
    private var waiting: [(path: String, prepare: @Sendable (String) -> [String: String])] = []
    private var workers = 0
    /// The shells running now, by the file they run for.
    private var children: [(path: String, pid: pid_t)] = []

    /// Commands started and not yet ended (what the limit bounds), for tests and logs.
    public var running: Int {
        condition.lock()
        defer { condition.unlock() }
        return children.count
    }

    /// How long ``finish(grace:)`` waits at shutdown before it stops the commands still running.
    public static let shutdownGrace: Double = 30
    /// How long a stopped command gets after SIGTERM before SIGKILL.
    public static let killGrace: Double = 5

    public init(command: String, limit: Int, logger: Logger) {
        self.command = command
        self.limit = max(1, limit)
        self.logger = logger
    }

    /// Queues a run for `path`; `prepare` (on the worker thread, before the command) gives extra
    /// environment variables.
    public func submit(_ path: String, prepare: @escaping @Sendable (String) -> [String: String] = { _ in [:] }) {
        condition.lock()
        waiting.append((path, prepare))
        let start = workers < limit
        if start { workers += 1 }
        let backlog = waiting.count
        condition.unlock()
        if start {
            Thread.detachNewThread { [self] in work() }
        } else if backlog % 100 == 0 {
            logger.warning("record-on-close: \(backlog) files wait for the command (\(limit) run at once)")
        }
    }

    /// Waits until every file handed over so far has had its command run, at most `grace` seconds:
    /// then the files still waiting are given up and the commands still running get SIGTERM
    /// (their shell; SIGKILL `killGrace` seconds later), each logged with its file, so that a hung
    /// upload cannot hold the shutdown until systemd kills the whole service.
    public func finish(grace: Double = shutdownGrace, killGrace: Double = killGrace) async {
        let pending: Int = {
            condition.lock()
            defer { condition.unlock() }
            return waiting.count + children.count
        }()
        if pending > 0 { logger.info("record-on-close: waiting for \(pending) command(s) to finish") }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                if !waitForWorkers(seconds: grace) {
                    stopCommands(signal: SIGTERM, after: grace)
                    if !waitForWorkers(seconds: killGrace) { stopCommands(signal: SIGKILL, after: grace + killGrace) }
                    _ = waitForWorkers(seconds: .infinity)
                }
                continuation.resume()
            }
        }
    }

    /// Waits until no worker is left or `seconds` have passed; true when none is left.
    private func waitForWorkers(seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard seconds.isFinite else {
            // (Not wait(until: .distantFuture): Foundation's nanoseconds of that trap.)
            while workers > 0 { condition.wait() }
            return true
        }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while workers > 0 {
            if !condition.wait(until: deadline) { return workers == 0 }
        }
        return true
    }

    /// Gives up the files still waiting and sends `signal` to the running commands, logging each.
    private func stopCommands(signal: Int32, after seconds: Double) {
        condition.lock()
        let dropped = waiting.map(\.path)
        waiting.removeAll()
        let running = children
        condition.unlock()
        for path in dropped {
            logger.error("record-on-close: shutting down; no command was run for \(path) (the file is kept)")
        }
        let name = signal == SIGKILL ? "SIGKILL" : "SIGTERM"
        for child in running {
            logger.error(
                "record-on-close: shutting down; the command for \(child.path) still runs after \(seconds) s: \(name)")
            kill(child.pid, signal)
        }
    }

    private func work() {
        while true {
            condition.lock()
            guard !waiting.isEmpty else {
                workers -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let (path, prepare) = waiting.removeFirst()
            condition.unlock()
            var environment = ProcessInfo.processInfo.environment
            environment["WEBSOCKIFY_RECORD_FILE"] = path
            environment.merge(prepare(path)) { _, new in new }
            run(path: path, environment: environment)
        }
    }

    private func run(path: String, environment: [String: String]) {
        let started = DispatchTime.now().uptimeNanoseconds
        switch ProcessSpawner.spawn(
            ["/bin/sh", "-c", command, "websockify-on-close", path], environment: environment, searchPath: false)
        {
        case .failure(let error):
            logger.error("record-on-close: cannot start /bin/sh for \(path): \(error.text); the file is kept")
        case .success(let pid):
            condition.lock()
            children.append((path, pid))
            condition.unlock()
            let status = ProcessSpawner.reap(pid)
            condition.lock()
            children.removeAll { $0.pid == pid }
            condition.unlock()
            let seconds = Double((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000) / 1000
            if status.code == 0 {
                logger.info("record-on-close: done for \(path) in \(seconds) s")
            } else {
                logger.error("record-on-close: the command for \(path) failed: \(status) after \(seconds) s; the file is kept")
            }
        }
    }
}
