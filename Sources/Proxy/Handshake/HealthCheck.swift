import NIOHTTP1

/// The health path (`--health-path`): what a load balancer's check of the proxy gets, decided from
/// the request head and the server's ``ServingPhase`` alone (no I/O).
///
/// A plain `GET` or `HEAD` of exactly ``path`` (any query ignored) answers `200` while the server
/// accepts and `503` from the moment shutdown begins, so that a balancer sends no new sessions to
/// a proxy that is about to exit. It is answered before auth plugins and the web server: a balancer
/// has no credentials, and the check must not depend on a file. A WebSocket upgrade is never a
/// health check, whatever its path.
public struct HealthCheck: Sendable, Equatable {
    /// The path answered, e.g. `/healthz`: starts with `/`, holds no query, fragment, space or control.
    public let path: String

    /// What the check answers.
    struct Answer: Equatable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        /// The body of a `GET` (a `HEAD` gets the same headers and no body).
        var body: String
        /// Whether the connection may serve another request afterwards.
        var keepAlive: Bool

        static func == (a: Answer, b: Answer) -> Bool {
            a.status == b.status && a.body == b.body && a.keepAlive == b.keepAlive
                && a.headers.map { "\($0.name):\($0.value)" } == b.headers.map { "\($0.name):\($0.value)" }
        }
    }

    /// Checks `path` (`--health-path`); throws ``ProxyError/invalidOption(_:why:)`` naming what is wrong.
    public init(path: String) throws(ProxyError) {
        let option = "--health-path=\(path)"
        guard path.hasPrefix("/") else {
            throw ProxyError.invalidOption(option, why: "must be an absolute path starting with '/', e.g. /healthz")
        }
        if let bad = path.unicodeScalars.first(where: { $0 == "?" || $0 == "#" }) {
            throw ProxyError.invalidOption(option, why: "'\(bad)' can't be part of the path (a query is ignored anyway)")
        }
        guard !path.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0.value > 0x7E }) else {
            throw ProxyError.invalidOption(
                option, why: "spaces, control and non-ASCII characters can't be part of a request path; %-escape them")
        }
        self.path = path
    }

    /// True when `head` asks for the health path: a request that is not a WebSocket upgrade, whose
    /// target's path (before any `?`; of an absolute-form target, RFC 9112 §3.2.2, the path after
    /// the authority) is exactly ``path``, of any method.
    func matches(_ head: HTTPRequestHead, isWebSocketUpgrade: Bool) -> Bool {
        guard !isWebSocketUpgrade else { return false }
        var target = Substring(head.uri)
        let start = target.prefix(8).lowercased()
        if let scheme = ["http://", "https://"].first(where: { start.hasPrefix($0) }) {
            let rest = target.dropFirst(scheme.count)
            let path = rest[(rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex)...]
            target = path.hasPrefix("/") ? path : Substring("/" + path)
        }
        let pathEnd = target.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? target.endIndex
        return target[..<pathEnd] == path
    }

    /// The answer to `head`, which ``matches(_:isWebSocketUpgrade:)`` accepted, in `phase`.
    func answer(to head: HTTPRequestHead, in phase: ServingPhase) -> Answer {
        var headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"]
        let status: HTTPResponseStatus
        let body: String
        var keepAlive = head.isKeepAlive
        switch (head.method, phase) {
        case (.GET, .accepting), (.HEAD, .accepting):
            status = .ok
            body = "ok\n"
        case (.GET, _), (.HEAD, _):
            // Draining: the balancer should stop sending sessions here; this connection is not kept.
            status = .serviceUnavailable
            body = "draining: shutting down\n"
            keepAlive = false
        default:
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET, HEAD")
            body = "Only GET and HEAD are served on the health path.\n"
            keepAlive = false
        }
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if head.version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        return Answer(status: status, headers: headers, body: body, keepAlive: keepAlive)
    }
}
