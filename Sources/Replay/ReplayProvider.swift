import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Proxy
import RecordFormat

/// Hands each WebSocket connection its recorded session: the pinned one, or the next in order
/// (starting over with `loop`), and collects the results.
final class ReplayProvider: SessionBackendProvider {
    private struct State {
        var next = 0
        var results: [SessionResult] = []
        var started = 0
    }

    let sessions: [RecordedSession]
    let options: ReplayEngine.Options
    let loop: Bool
    /// Keep each session's transcript (`--record-client`).
    let transcripts: Bool
    private let state = NIOLockedValueBox(State())
    /// Called (on any thread) when the last session to play has ended and nothing loops.
    let onAllPlayed: @Sendable () -> Void
    /// Counts the sessions' results (`--metrics-listen`).
    let metrics: ReplayMetrics?

    init(
        sessions: [RecordedSession], options: ReplayEngine.Options, loop: Bool, transcripts: Bool = false,
        metrics: ReplayMetrics? = nil, onAllPlayed: @escaping @Sendable () -> Void
    ) {
        self.sessions = sessions
        self.options = options
        self.loop = loop
        self.transcripts = transcripts
        self.metrics = metrics
        self.onAllPlayed = onAllPlayed
    }

    var results: [SessionResult] { state.withLockedValue { $0.results } }

    private func peek() -> RecordedSession {
        state.withLockedValue { sessions[$0.next % sessions.count] }
    }

    func subprotocolPreference() -> [String] {
        // Offer the recorded subprotocol first, so the client gets what it got then.
        let recorded = peek().subprotocol
        return recorded == "base64" ? ["base64", "binary"] : ["binary", "base64"]
    }

    func makeBackend(_ info: SessionBackendInfo) -> any SessionBackend {
        let session = state.withLockedValue { state -> RecordedSession in
            let session = sessions[state.next % sessions.count]
            state.next += 1
            state.started += 1
            return session
        }
        let clock: @Sendable () -> UInt64 = { NIODeadline.now().uptimeNanoseconds }
        var engine = ReplayEngine(session: session, options: options, startNanos: clock())
        if transcripts {
            // The client's bytes and the frames played are kept as they are: binary frames.
            engine.transcript = ReplayTranscript(
                open: SessionOpen(
                    startWallMicros: Int64(Date().timeIntervalSince1970 * 1e6), clientAddress: info.clientAddress,
                    target: .hostPort("wsreplay"), requestPath: info.requestPath, subprotocol: "binary"))
        }
        return ReplayBackend(engine: engine, clock: clock) { [self] result in
            metrics?.ended(result)
            let done = state.withLockedValue { state -> Bool in
                state.results.append(result)
                return !loop && state.results.count >= sessions.count
            }
            if done { onAllPlayed() }
        }
    }
}
