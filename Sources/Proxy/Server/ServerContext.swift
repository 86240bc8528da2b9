import Logging
import NIOConcurrencyHelpers
import NIOCore

/// State shared by every connection of one server: configuration, logger, live sessions.
final class ServerContext: Sendable {
    let configuration: ProxyConfiguration
    let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// Called (from any loop) whenever a WebSocket session ends, with the number still open.
    let onSessionEnded: @Sendable (_ remaining: Int) -> Void
    /// Counts connections against `limits.maxConnections`/`maxConnectionsPerClient`; nil when unset.
    let connectionLimiter: ConnectionLimiter?

    struct State {
        var nextID: UInt64 = 1
        var sessions: [UInt64: NIOLoopBound<WebSocketSessionHandler>] = [:]
        var lastActivity = NIODeadline.now()
        /// Only moves forward (see ``enter(_:)``).
        var phase = ServingPhase.accepting
        /// Completed with true once no session is open (see ``notifyWhenNoSessions(_:)``).
        var drainWaiters: [EventLoopPromise<Bool>] = []
    }

    init(configuration: ProxyConfiguration, logger: Logger, onSessionEnded: @escaping @Sendable (Int) -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.onSessionEnded = onSessionEnded
        connectionLimiter = ConnectionLimiter(
            total: configuration.limits.maxConnections, perClient: configuration.limits.maxConnectionsPerClient)
    }

    /// Registers a new session and returns its number.
    func register(_ session: WebSocketSessionHandler, on loop: any EventLoop) -> UInt64 {
        state.withLockedValue { state in
            let id = state.nextID
            state.nextID += 1
            state.sessions[id] = NIOLoopBound(session, eventLoop: loop)
            state.lastActivity = .now()
            return id
        }
    }

    func unregister(_ id: UInt64) {
        let (remaining, waiters) = state.withLockedValue { state in
            state.sessions[id] = nil
            state.lastActivity = .now()
            guard state.sessions.isEmpty else { return (state.sessions.count, [EventLoopPromise<Bool>]()) }
            defer { state.drainWaiters = [] }
            return (0, state.drainWaiters)
        }
        for waiter in waiters { waiter.succeed(true) }
        onSessionEnded(remaining)
    }

    /// Succeeds `promise` with true once no session is open: at once if none is, else when the last
    /// one unregisters. Whoever else completes it first (a deadline) wins; the later success is ignored.
    func notifyWhenNoSessions(_ promise: EventLoopPromise<Bool>) {
        let none = state.withLockedValue { state in
            if state.sessions.isEmpty { return true }
            state.drainWaiters.append(promise)
            return false
        }
        if none { promise.succeed(true) }
    }

    /// True once the listener is closing: new connections are closed right away.
    var acceptingStopped: Bool { phase == .closed }

    func stopAccepting() { enter(.closed) }

    /// Where the server is between listening and stopping (what the health path reports).
    var phase: ServingPhase { state.withLockedValue { $0.phase } }

    /// Moves to `phase` unless the server is already there or further; returns whether it moved.
    @discardableResult
    func enter(_ phase: ServingPhase) -> Bool {
        state.withLockedValue { state in
            guard phase > state.phase else { return false }
            state.phase = phase
            return true
        }
    }

    var sessionCount: Int { state.withLockedValue { $0.sessions.count } }

    /// When the last session ended (or the server started), if none is open now.
    var idleSince: NIODeadline? {
        state.withLockedValue { $0.sessions.isEmpty ? $0.lastActivity : nil }
    }

    /// Cuts every session still open (after the shutdown grace period).
    func forceCloseAllSessions() {
        let all = state.withLockedValue { Array($0.sessions.values) }
        for bound in all {
            bound.eventLoop.execute {
                bound.value.forceClose()
            }
        }
    }

    /// Asks every open session to close with 1001 (going away).
    func closeAllSessions() {
        let all = state.withLockedValue { Array($0.sessions.values) }
        for bound in all {
            bound.eventLoop.execute {
                bound.value.shutdown()
            }
        }
    }
}
