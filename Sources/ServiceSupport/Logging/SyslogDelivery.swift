import Foundation
import RecordFormat

/// Hands log lines to the syslog server from a thread of its own, in order, and keeps them in a
/// bounded ``SyslogBacklog`` while the server cannot take them: not reachable yet (a TCP
/// connection still being made, a UDP server not yet listening), restarting, or slower than the
/// proxy. Logging never waits for the server; a line is dropped only when the backlog is full,
/// and then counted in a line of its own.
///
/// Retries after a failure wait ``initialRetry``, doubling up to ``maximumRetry``.
final class SyslogDelivery: @unchecked Sendable {
    let destination: SyslogDestination
    let formatter: SyslogFormatter
    /// Told (from any thread) what the log file or terminal should know: the server is out of
    /// reach, reachable again, lines were dropped, lines were left at exit.
    private let report: @Sendable (String) -> Void
    /// The most lines kept waiting.
    let capacity: Int

    static let initialRetry: UInt64 = 20_000_000
    static let maximumRetry: UInt64 = 2_000_000_000
    /// How often, while UDP datagrams may still be refused, the error queue is looked at.
    static let refusalPoll: TimeInterval = 0.02

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var backlog: SyslogBacklog<[UInt8]>
    private var stopping = false
    private var finished = false
    /// Whether the last line was dropped.
    private var overflowing = false

    // Used by the delivery thread only.
    private let connection: SyslogConnection

    /// Starts the thread; `connection` may already be connected (checked at start-up).
    init(
        connection: SyslogConnection, formatter: SyslogFormatter, capacity: Int,
        report: @escaping @Sendable (String) -> Void
    ) {
        self.destination = connection.destination
        self.connection = connection
        self.formatter = formatter
        self.capacity = capacity
        self.backlog = SyslogBacklog(capacity: capacity)
        self.report = report
        let thread = Thread { [self] in run() }
        thread.name = "syslog"
        thread.start()
    }

    /// Queues one formatted message logged at `micros`.
    func enqueue(_ message: [UInt8], at micros: Int64) {
        condition.lock()
        let kept = backlog.append(message, at: micros)
        // Told once each time the backlog overflows, not for every line dropped.
        let firstDrop = !kept && !overflowing
        overflowing = !kept
        condition.signal()
        condition.unlock()
        if firstDrop {
            report(
                "syslog: \(capacity) lines are waiting for \(destination.displayString); further lines are dropped and counted until they are delivered"
            )
        }
    }

    /// Waits up to `timeout` seconds for every queued line to be delivered, then stops the thread;
    /// returns how many lines were not delivered (and reports them).
    @discardableResult
    func finish(timeout: TimeInterval) -> Int {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished, condition.wait(until: deadline) {}
        let left = backlog.lineCount
        let dropped = backlog.droppedTotal
        condition.unlock()
        if left > 0 {
            report("syslog: \(left) lines could not be delivered to \(destination.displayString) before exit")
        }
        if dropped > 0 {
            report("syslog: \(dropped) lines were dropped in all because too many were waiting")
        }
        return left
    }

    // MARK: - The delivery thread

    private func run() {
        var retry = Self.initialRetry
        /// Why the server cannot be reached, and since when; nil while deliveries go through.
        var outage: (why: String, since: UInt64)?
        func failed(_ why: String, at now: UInt64) {
            if outage == nil { report(outageText(why)) }
            outage = (why, now)
            pause(&retry)
        }
        while true {
            condition.lock()
            while backlog.isEmpty && !stopping {
                // UDP datagrams sent lately may still be refused: look again shortly.
                if connection.awaitsRefusals {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Self.refusalPoll))
                    break
                }
                condition.wait()
            }
            let item = backlog.firstItem
            let stop = stopping && item == nil
            condition.unlock()

            let now = DispatchTime.now().uptimeNanoseconds
            let refused = connection.takeRefused(now: now)
            if !refused.isEmpty {
                condition.lock()
                backlog.putBack(refused)
                condition.unlock()
                failed("refused: nothing listens on that port (ICMP port unreachable)", at: now)
                continue
            }
            if let since = outage?.since, connection.isConnected {
                // After a failure one line goes first; the rest follow once it got through.
                switch connection.probe(sentAfter: since, now: now) {
                case .none:
                    break
                case .pending:
                    condition.lock()
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Self.refusalPoll))
                    condition.unlock()
                    continue
                case .delivered:
                    outage = nil
                    retry = Self.initialRetry
                    report("syslog: delivering to \(destination.displayString) again")
                }
            }
            if stop {
                condition.lock()
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            guard let item else { continue }
            if connection.isSaturated {
                // As many UDP datagrams as are kept for resending may still be refused.
                condition.lock()
                _ = condition.wait(until: Date(timeIntervalSinceNow: Self.refusalPoll))
                condition.unlock()
                continue
            }
            if !connection.isConnected {
                do {
                    try connection.connect()
                } catch {
                    failed((error as? OperationsError)?.message ?? "\(error)", at: now)
                    continue
                }
            }
            switch connection.send(bytes(of: item.entry), sequence: item.sequence, now: now) {
            case .sent:
                condition.lock()
                backlog.removeFirst()
                condition.unlock()
            case .broken(let why), .retry(let why):
                failed(why, at: now)
            }
        }
    }

    private func outageText(_ why: String) -> String {
        "syslog: cannot deliver to \(destination.displayString) (\(why)); keeping up to \(capacity) lines and retrying"
    }

    /// Waits `retry`, then doubles it. Lines logged meanwhile do not cut the wait short (a server
    /// that is down is not tried once per line); being asked to stop does, for one last try.
    private func pause(_ retry: inout UInt64) {
        let deadline = Date(timeIntervalSinceNow: Double(retry) / 1e9)
        condition.lock()
        let wasStopping = stopping
        while stopping == wasStopping, condition.wait(until: deadline) {}
        condition.unlock()
        retry = min(retry * 2, Self.maximumRetry)
    }

    /// The bytes for an entry: the line, or the message counting dropped lines.
    private func bytes(of entry: SyslogBacklog<[UInt8]>.Entry) -> [UInt8] {
        switch entry {
        case .line(let message):
            return message
        case .dropped(let count, let first, let last):
            let text =
                "\(count) log line\(count == 1 ? " was" : "s were") dropped between \(ISODate.string(wallMicros: first)) and \(ISODate.string(wallMicros: last)): \(capacity) lines were waiting for \(destination.displayString)"
            return formatter.format(text, severity: .warning, at: SyslogFormatter.Time.now())
        }
    }
}
