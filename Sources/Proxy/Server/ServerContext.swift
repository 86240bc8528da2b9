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

    struct State {
        var nextID: UInt64 = 1
        var sessions: [UInt64: NIOLoopBound<WebSocketSessionHandler>] = [:]
        var lastActivity = NIODeadline.now()
        var accepting = true
    }

    init(configuration: ProxyConfiguration, logger: Logger, onSessionEnded: @escaping @Sendable (Int) -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.onSessionEnded = onSessionEnded
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
        let remaining = state.withLockedValue { state in
            state.sessions[id] = nil
            state.lastActivity = .now()
            return state.sessions.count
        }
        onSessionEnded(remaining)
    }

    /// False once shutdown began: new connections are closed right away.
    var acceptingStopped: Bool { state.withLockedValue { !$0.accepting } }

    func stopAccepting() { state.withLockedValue { $0.accepting = false } }

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
