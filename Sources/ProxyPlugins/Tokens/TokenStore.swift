import NIOCore
import NIOHTTP1
import Proxy

/// Where token plugins look tokens up: a token file, a JWT key, Redis.
public protocol TokenStore: Sendable {
    /// The target for `token`; fails with a ``RequestRefusal`` (unknown token, store down, …).
    func target(forToken token: String, on eventLoop: any EventLoop) -> EventLoopFuture<ProxyConfiguration.Target>

    /// What the listener's log line says about the store ("TokenFile /etc/tokens").
    var summary: String { get }

    /// Releases what the store holds open (a token API's HTTP client) once no lookup will come.
    func shutdown() async
}

extension TokenStore {
    public func shutdown() async {}
}

/// A ``TargetResolver`` for token plugins: finds the request's token (``TokenExtraction``) and
/// asks a ``TokenStore`` for its target.
public struct TokenTargetResolver: TargetResolver {
    public var store: any TokenStore
    /// Take the token from the `Host` header (`--host-token`) instead of the query or cookie.
    public var hostToken: Bool
    /// The `--token-plugin` name, for metrics ("TokenRedis").
    public var pluginName: String

    public init(store: any TokenStore, hostToken: Bool, pluginName: String = "custom") {
        self.store = store
        self.hostToken = hostToken
        self.pluginName = pluginName
    }

    public func resolveTarget(for request: ConnectionRequest, on eventLoop: any EventLoop)
        -> EventLoopFuture<ProxyConfiguration.Target>
    {
        guard let (token, _) = TokenExtraction.token(in: request.head, hostToken: hostToken) else {
            return eventLoop.makeFailedFuture(RequestRefusal.noToken(hostToken: hostToken))
        }
        return store.target(forToken: token, on: eventLoop)
    }

    /// Shuts the store down (``TokenStore/shutdown()``), when websockify stops.
    public func shutdown() async { await store.shutdown() }

    public var summary: String {
        "targets from tokens (\(store.summary)\(hostToken ? ", token from the Host header" : ""))"
    }
}

/// The refusals of token plugins, one status per kind of problem (see docs/proxy.md):
/// 400 no token, 404 unknown token, 403 token not acceptable (JWT), 502 the store's answer is
/// unusable, 503 the store can't be reached.
extension RequestRefusal {
    static func noToken(hostToken: Bool) -> RequestRefusal {
        RequestRefusal(
            status: .badRequest,
            message: hostToken
                ? "No token: this proxy takes the token from the Host header."
                : "No token: add ?token=... to the URL (or send a 'token' cookie).",
            logMessage: "no token in the request")
    }

    static func unknownToken(_ token: String, store: String) -> RequestRefusal {
        RequestRefusal(
            status: .notFound, message: "Unknown token.",
            logMessage: "unknown token \(LogText.quoted(token)) (\(store))")
    }

    static func tokenNotAcceptable(_ why: String) -> RequestRefusal {
        RequestRefusal(status: .forbidden, message: "Invalid token: \(why).", logMessage: "invalid token: \(why)")
    }

    static func tokenStoreAnswerUnusable(_ why: String) -> RequestRefusal {
        RequestRefusal(
            status: .badGateway, message: "The token's target is misconfigured on the server.",
            logMessage: why)
    }

    static func tokenStoreUnavailable(_ why: String) -> RequestRefusal {
        RequestRefusal(
            status: .serviceUnavailable, message: "The token store is unavailable; try again later.",
            logMessage: why)
    }
}
