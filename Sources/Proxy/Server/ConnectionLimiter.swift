import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// `--max-connections` and `--max-connections-per-ip`: admits a connection once its first request
/// head has been read, and counts it until the connection closes, however it closes (a session that
/// ended, a refused handshake, a finished `--web` download, a reset or a TLS error).
///
/// What counts is a connection that has sent a complete request head other than the health path:
/// WebSocket sessions, handshakes waiting for auth or a token lookup, and `--web` connections (a
/// download holds a descriptor as long as a session does). The head is the first point where both
/// things needed are known: the real client (a trusted `X-Forwarded-For` is in the head) and a way
/// to answer (inside TLS, after it). Connections still sending their head are not counted; the
/// handshake timeout and the header size limit bound those. nginx's `limit_conn` counts from the
/// same point. The health path is never refused: a balancer must still see a full server as alive.
///
/// Per client means the real client (``ClientAddresses/client``) when `--proxy-protocol` or
/// `--trust-proxy` give one: behind a balancer every TCP peer is the balancer, so counting peers
/// would make the per-IP limit a second total limit.
final class ConnectionLimiter: Sendable {
    /// How long a refused client is told to wait (`Retry-After`, RFC 9110 §10.2.3).
    static let retryAfterSeconds = 10

    private struct State {
        var counts: ConnectionCounts
        /// Refusals are logged at info level at most once a minute (the rest with `-v`), as the
        /// PROXY-protocol refusals are: a client hammering a full server must not flood the log.
        var reporter = ProxyProtocolRefusalReporter()
    }

    private let state: NIOLockedValueBox<State>

    /// A limiter for the limits given; nil when neither is set (nothing to count).
    init?(total: Int?, perClient: Int?) {
        guard total != nil || perClient != nil else { return nil }
        state = NIOLockedValueBox(State(counts: ConnectionCounts(total: total, perClient: perClient)))
    }

    /// Why a connection was refused: the answer, the refusal reason for metrics, and the info line
    /// to log (nil: logged with `-v` only, see ``State/reporter``).
    struct Refusal {
        let answer: RequestRefusal
        let reason: ProxyMetrics.RefusalReason
        let infoLine: String?
        let debugLine: String
    }

    /// Counts `channel`'s connection for `clientAddress` until it closes, or refuses it.
    func admit(_ channel: any Channel, clientAddress: String) -> Refusal? {
        let client = ConnectionCounts.Client(clientAddress: clientAddress)
        let (exceeded, held) = state.withLockedValue { state -> (ConnectionCounts.Exceeded?, Int?) in
            guard let exceeded = state.counts.add(client) else { return (nil, nil) }
            return (exceeded, state.reporter.refused(at: NIODeadline.now().uptimeNanoseconds))
        }
        guard let exceeded else {
            channel.closeFuture.whenComplete { [self] _ in release(client) }
            return nil
        }
        let why: String
        let reason: ProxyMetrics.RefusalReason
        switch exceeded {
        case .total(let limit):
            why = "--max-connections \(limit) reached"
            reason = .maxConnections
        case .perClient(let limit):
            why = "--max-connections-per-ip \(limit) reached for \(client)"
            reason = .maxConnectionsPerIP
        }
        let answer = RequestRefusal(
            status: .serviceUnavailable, headers: ["Retry-After": "\(Self.retryAfterSeconds)"],
            message: "Too many connections; try again later.", logMessage: why)
        let debugLine = "\(clientAddress): refused: 503 \(why)"
        let infoLine = held.map { count in
            let more = count > 1 ? " (\(count - 1) more since the last such line)" : ""
            return "\(debugLine)\(more); further such refusals within a minute are logged with -v only"
        }
        return Refusal(answer: answer, reason: reason, infoLine: infoLine, debugLine: debugLine)
    }

    private func release(_ client: ConnectionCounts.Client) {
        state.withLockedValue { $0.counts.remove(client) }
    }

    /// Connections counted now, in all.
    var count: Int { state.withLockedValue { $0.counts.count } }

    /// Connections counted now for the client of `clientAddress`.
    func count(of clientAddress: String) -> Int {
        state.withLockedValue { $0.counts.count(of: ConnectionCounts.Client(clientAddress: clientAddress)) }
    }
}
