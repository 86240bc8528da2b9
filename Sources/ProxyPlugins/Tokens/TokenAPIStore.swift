import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Proxy

/// `BaseTokenAPI` and `JSONTokenApi`: each token is looked up with an HTTP GET of the
/// `--token-source` URL, the token in place of its `%s` (``TokenAPIURL``). The answer's body is
/// `host:port` (`BaseTokenAPI`) or JSON `{"host": …, "port": …}` (`JSONTokenApi`), as in
/// websockify 0.13; both also take the other forms of ``TokenTarget`` (`[v6]:port`, `unix_socket`).
///
/// What the answers mean (docs/proxy.md): a 2xx body names the target; a 4xx (404, 403, …) or a JSON
/// `null` host means the API does not know the token: 404, as for any unknown token (0.13 treats
/// every non-2xx answer so); a 5xx, no connection or no answer within the timeouts: 503, try again;
/// a body that is not a target (bad JSON, no host, over 64 KiB), a redirect loop: 502.
///
/// Found targets are kept for 10 s (``TokenCache``). The HTTP client is async-http-client's, made at
/// the first lookup and shut down by ``shutdown()`` when websockify stops.
public final class TokenAPIStore: TokenStore {
    /// What the API's answer body holds.
    public enum Format: Sendable {
        /// `host:port` (`BaseTokenAPI`).
        case plain
        /// `{"host": "h", "port": 5900}` (`JSONTokenApi`).
        case json

        public var pluginName: String { self == .plain ? "BaseTokenAPI" : "JSONTokenApi" }
    }

    /// How long a lookup may take.
    public struct Timeouts: Sendable {
        /// Connecting to the API (2 s).
        public var connect = TimeAmount.seconds(2)
        /// The whole request, connecting included, until the last byte of the body (5 s: well
        /// within the 10 s a client gets for its handshake).
        public var request = TimeAmount.seconds(5)
        public init() {}
    }

    /// Largest answer body read: a target is a few dozen bytes.
    public static let maximumBodySize = 64 * 1024

    public let url: TokenAPIURL
    public let format: Format
    public let timeouts: Timeouts

    private enum ClientState {
        case notStarted, running(HTTPClient), shutDown
    }

    private let client = NIOLockedValueBox(ClientState.notStarted)
    private let cache: NIOLockedValueBox<TokenCache>
    /// A monotonic clock in nanoseconds (tests move it).
    private let now: @Sendable () -> UInt64

    public init(
        url: TokenAPIURL, format: Format, timeouts: Timeouts = Timeouts(),
        now: @escaping @Sendable () -> UInt64 = { NIODeadline.now().uptimeNanoseconds }
    ) {
        self.url = url
        self.format = format
        self.timeouts = timeouts
        self.cache = NIOLockedValueBox(TokenCache())
        self.now = now
    }

    public var summary: String { "\(format.pluginName) \(url.logText)" }

    public func target(forToken token: String, on eventLoop: any EventLoop) -> EventLoopFuture<ProxyConfiguration.Target> {
        if let kept = cache.withLockedValue({ $0.target(for: token, now: now()) }) {
            return eventLoop.makeSucceededFuture(kept)
        }
        guard let client = startedClient() else {
            return eventLoop.makeFailedFuture(RequestRefusal.tokenStoreUnavailable("token lookup while shutting down"))
        }
        let request: HTTPClient.Request
        do {
            var headers = HTTPHeaders([("Accept", format == .json ? "application/json" : "text/plain, */*")])
            headers.add(name: "User-Agent", value: "websockify-swift")
            request = try HTTPClient.Request(url: url.url(for: token), method: .GET, headers: headers)
        } catch {
            return eventLoop.makeFailedFuture(
                RequestRefusal.tokenStoreAnswerUnusable("token lookup: cannot ask \(url.logText) for token \(LogText.quoted(token)): \(error)"))
        }
        let api = url.logText
        let (format, summary, timeout) = (self.format, self.summary, timeouts.request)
        // The client runs on NIO's shared group, not the proxy's: the answer hops back to `eventLoop`.
        return client.execute(
            request: request, delegate: ResponseAccumulator(request: request, maxBodySize: Self.maximumBodySize),
            eventLoop: .indifferent, deadline: .now() + timeout
        ).futureResult
        .hop(to: eventLoop)
        .flatMapErrorThrowing { error in throw Self.refusal(for: error, api: api, timeout: timeout) }
        .flatMapThrowing { response in
            let result = Self.interpret(
                status: response.status, body: response.body.map { Array($0.readableBytesView) } ?? [], format: format,
                token: token, store: summary)
            if case .success(let target) = result {
                self.cache.withLockedValue { $0.store(target, for: token, now: self.now()) }
            }
            return try result.get()
        }
    }

    /// Shuts the HTTP client down (if a lookup started it); later lookups get 503.
    public func shutdown() async {
        let running = client.withLockedValue { state -> HTTPClient? in
            defer { state = .shutDown }
            if case .running(let client) = state { return client }
            return nil
        }
        try? await running?.shutdown()
    }

    private func startedClient() -> HTTPClient? {
        client.withLockedValue { state in
            switch state {
            case .running(let client): return client
            case .shutDown: return nil
            case .notStarted:
                let configuration = HTTPClient.Configuration(
                    redirectConfiguration: .follow(max: 5, allowCycles: false),
                    timeout: .init(connect: timeouts.connect, read: timeouts.request))
                let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
                state = .running(client)
                return client
            }
        }
    }

    /// What the API's answer means for the session (see ``TokenAPIStore``).
    static func interpret(
        status: HTTPResponseStatus, body: [UInt8], format: Format, token: String, store summary: String
    ) -> Result<ProxyConfiguration.Target, RequestRefusal> {
        let answered = "\(summary) answered \(status.code) \(status.reasonPhrase)"
        switch status.code {
        case 200..<300: break
        case 400..<500: return .failure(.unknownToken(token, store: answered))
        case 500..<600: return .failure(.tokenStoreUnavailable("token lookup failed: \(answered)"))
        default: return .failure(.tokenStoreAnswerUnusable("token lookup: \(answered)"))
        }
        func unusable(_ why: String) -> RequestRefusal {
            .tokenStoreAnswerUnusable("unusable answer for token \(LogText.quoted(token)) from \(summary): \(why)")
        }
        switch format {
        case .plain:
            return TokenTarget.parse(String(decoding: body, as: UTF8.self)).mapError { unusable($0.message) }
        case .json:
            guard let value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
                return .failure(unusable("not JSON"))
            }
            if value is NSNull { return .failure(.unknownToken(token, store: "\(summary) answered null")) }
            guard let object = value as? [String: Any] else { return .failure(unusable("not a JSON object")) }
            if object["host"] is NSNull { return .failure(.unknownToken(token, store: "\(summary) answered host null")) }
            return TokenTarget.fromJSON(object).mapError { unusable($0.message) }
        }
    }

    /// The refusal for a request that got no usable answer: 502 for an answer too large or a redirect
    /// loop, 503 for everything else (no connection, timeouts, a connection cut).
    static func refusal(for error: any Error, api: String, timeout: TimeAmount) -> RequestRefusal {
        if error is ResponseAccumulator.ResponseTooBigError {
            return .tokenStoreAnswerUnusable("token lookup: \(api) answered with a body over \(maximumBodySize) bytes")
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .redirectLimitReached, .redirectCycleDetected:
                return .tokenStoreAnswerUnusable("token lookup: \(api): \(error)")
            case .deadlineExceeded, .readTimeout:
                return .tokenStoreUnavailable(
                    "token lookup failed: \(api): no answer within \(timeout.nanoseconds / 1_000_000) ms")
            case .connectTimeout:
                return .tokenStoreUnavailable("token lookup failed: \(api): cannot connect (timed out)")
            default: break
            }
        }
        return .tokenStoreUnavailable("token lookup failed: \(api): \(error)")
    }
}
