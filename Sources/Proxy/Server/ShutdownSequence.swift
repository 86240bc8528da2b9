import NIOCore

/// What a server does between being told to stop and returning, as steps with their waits: no I/O,
/// no clock. ``ProxyServer`` performs the actions and reports how each wait ended.
///
/// In order (each wait may be cut short, see ``Event``):
/// 1. **Lame duck** (``Durations/lameDuck``, only when the stop came from outside and a health path
///    is served): the health path answers 503 at once, but the listener keeps taking sessions, so
///    that those a balancer routes here before its next check still succeed.
/// 2. **Draining** (``Durations/drain``): the listener is closed; the open sessions keep running
///    and end on their own, up to the drain timeout.
/// 3. **Closing** (``Durations/closeGrace``): the sessions still open are sent a close frame with
///    1001 (going away, RFC 6455 §7.4.1) and get this long to finish the close handshake.
/// 4. **Cutting** (``Durations/cutGrace``): the rest are cut (TCP closed), and their taps told.
///
/// A step whose wait is zero is passed over; draining, closing and cutting end as soon as no session
/// is open. Asked to hurry (a second SIGTERM or SIGINT), the lame duck and the drain end at once
/// (the listener closes, the sessions get their 1001 now); a hurry while closing cuts the sessions.
struct ShutdownSequence: Sendable {
    /// How long each step may last.
    struct Durations: Sendable, Equatable {
        var lameDuck: TimeAmount
        var drain: TimeAmount
        var closeGrace: TimeAmount
        var cutGrace: TimeAmount
    }

    enum Step: Sendable, Equatable {
        case lameDuck, draining, closing, cutting, finished
    }

    /// What the server is to do, in order; a list of actions ends with ``wait(_:endsWhenNoSessions:)``
    /// or ``finish``.
    enum Action: Sendable, Equatable {
        /// From now on the health path answers 503 (``ServingPhase/draining``).
        case reportDraining
        /// Close the listener: new connections are refused (``ServingPhase/closed``).
        case closeListener
        /// Send every open session a close frame with 1001.
        case closeSessions
        /// Cut every session still open.
        case cutSessions
        /// Wait this long, or until asked to hurry, or (when `endsWhenNoSessions`) until no session
        /// is open; then report the ``Event``.
        case wait(TimeAmount, endsWhenNoSessions: Bool)
        /// Shutdown is done: run the shutdown hook and return.
        case finish
    }

    /// How a wait ended.
    enum Event: Sendable, Equatable {
        case elapsed
        /// Asked to hurry (a repeated stop signal).
        case hurried
        case noSessionsLeft
    }

    let durations: Durations
    /// nil before ``start(lameDuck:)``.
    private(set) var step: Step?

    init(durations: Durations) {
        self.durations = durations
    }

    /// Begins shutdown; `lameDuck` says whether the lame-duck period applies to this stop.
    mutating func start(lameDuck: Bool) -> [Action] {
        precondition(step == nil, "a shutdown starts once")
        if lameDuck, durations.lameDuck > .zero {
            step = .lameDuck
            return [.reportDraining, .wait(durations.lameDuck, endsWhenNoSessions: false)]
        }
        return [.reportDraining] + closingListener()
    }

    /// The next actions after a wait ended with `event`.
    mutating func handle(_ event: Event) -> [Action] {
        switch (step, event) {
        case (.lameDuck, .elapsed):
            return closingListener()
        case (.lameDuck, .hurried):
            return [.closeListener] + closing()
        case (.draining, .elapsed), (.draining, .hurried):
            return closing()
        case (.closing, .elapsed), (.closing, .hurried):
            step = .cutting
            return [.cutSessions, .wait(durations.cutGrace, endsWhenNoSessions: true)]
        case (.draining, .noSessionsLeft), (.closing, .noSessionsLeft), (.cutting, _):
            step = .finished
            return [.finish]
        case (.lameDuck, .noSessionsLeft), (.finished, _), (nil, _):
            // The lame duck does not wait on sessions; nothing waits before start or after finish.
            return []
        }
    }

    private mutating func closingListener() -> [Action] {
        guard durations.drain > .zero else { return [.closeListener] + closing() }
        step = .draining
        return [.closeListener, .wait(durations.drain, endsWhenNoSessions: true)]
    }

    private mutating func closing() -> [Action] {
        step = .closing
        return [.closeSessions, .wait(durations.closeGrace, endsWhenNoSessions: true)]
    }
}
