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
    /// Commands started and not yet ended (what the limit bounds), for tests and logs.
    public private(set) var running = 0

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

    /// Waits until every file handed over so far has had its command run.
    public func finish() async {
        let pending: Int = {
            condition.lock()
            defer { condition.unlock() }
            return waiting.count + running
        }()
        if pending > 0 { logger.info("record-on-close: waiting for \(pending) command(s) to finish") }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                condition.lock()
                while workers > 0 { condition.wait() }
                condition.unlock()
                continuation.resume()
            }
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
            condition.lock()
            running += 1
            condition.unlock()
            run(path: path, environment: environment)
            condition.lock()
            running -= 1
            condition.unlock()
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
            let status = ProcessSpawner.reap(pid)
            let seconds = Double((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000) / 1000
            if status.code == 0 {
                logger.info("record-on-close: done for \(path) in \(seconds) s")
            } else {
                logger.error("record-on-close: the command for \(path) failed: \(status) after \(seconds) s; the file is kept")
            }
        }
    }
}
