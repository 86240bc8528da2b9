import CoreMetrics
import NIOCore
import RecordFormat

/// One session's part in the proxy's metrics. The session counts its frames and bytes in its own
/// ``SessionTotals`` (plain integers on its event loop); the meter adds what is new to the shared
/// counters once per read burst and at the end, so the shared atomics are touched a few times per
/// burst, never once per frame.
struct SessionMeter {
    private let metrics: ProxyMetrics
    private var reported = SessionTotals()
    private let started: NIODeadline

    /// Counts the session as open.
    init(metrics: ProxyMetrics, now: NIODeadline = .now()) {
        self.metrics = metrics
        self.started = now
        metrics.sessionsOpen.increment()
    }

    /// Adds to the shared counters what `totals` has beyond the last flush.
    mutating func flush(_ totals: SessionTotals) {
        guard totals != reported else { return }
        add(.clientToTarget, totals.clientToTarget, reported.clientToTarget)
        add(.targetToClient, totals.targetToClient, reported.targetToClient)
        reported = totals
    }

    private func add(_ direction: Direction, _ now: DirectionTotals, _ before: DirectionTotals) {
        if now.frames > before.frames { metrics.frames[direction]?.increment(by: now.frames - before.frames) }
        if now.bytes > before.bytes { metrics.bytes[direction]?.increment(by: now.bytes - before.bytes) }
    }

    /// Connecting to the target failed.
    func targetConnectFailed() {
        metrics.targetConnectFailures.increment()
    }

    /// The session is over: the last counts, who closed it, how long it lasted.
    mutating func ended(_ totals: SessionTotals, closedBy closer: Closer, now: NIODeadline = .now()) {
        flush(totals)
        metrics.sessionsEnded[closer]?.increment()
        metrics.sessionsOpen.decrement()
        metrics.sessionDuration.recordNanoseconds((now - started).nanoseconds)
    }
}
