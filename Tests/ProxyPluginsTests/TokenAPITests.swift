import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import Proxy
@testable import ProxyPlugins

@Suite("Token APIs: BaseTokenAPI, JSONTokenApi")
struct TokenAPITests {
    /// Lookups come from a loop of another group than the HTTP client's (NIO's shared one), as the
    /// proxy's do.
    static let proxyGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop = Self.proxyGroup.next()

    @Test("the URL: %s takes the token percent-encoded, %% is one %, other escapes stay")
    func url() throws {
        let api = try TokenAPIURL("http://127.0.0.1:8000/token/%s?fmt=json&x=%2F%%")
        #expect(api.url(for: "abc-1.2_3~") == "http://127.0.0.1:8000/token/abc-1.2_3~?fmt=json&x=%2F%")
        #expect(api.url(for: "a b/c?d&e=f#g") == "http://127.0.0.1:8000/token/a%20b%2Fc%3Fd%26e%3Df%23g?fmt=json&x=%2F%")
        #expect(api.url(for: "✓") == "http://127.0.0.1:8000/token/%E2%9C%93?fmt=json&x=%2F%")
        #expect(try TokenAPIURL("https://api.example/lookup?token=%s").url(for: "t") == "https://api.example/lookup?token=t")
        #expect(try TokenAPIURL("http://user:pw@api.example/t/%s").logText == "http://api.example/t/%s")
        #expect(api.logText == "http://127.0.0.1:8000/token/%s?fmt=json&x=%2F%")
        for bad in ["http://h/no-placeholder", "http://h/%s/%s", "ftp://h/%s", "/relative/%s", "http:///%s", "%s"] {
            #expect(throws: ProxyError.self, "\(bad)") { try TokenAPIURL(bad) }
        }
    }

    @Test("the cache keeps a target for its TTL, then forgets it; when full, expired entries go first, then the oldest")
    func cache() {
        var cache = TokenCache(ttl: 10, capacity: 3)
        let a = ProxyConfiguration.Target.hostPort(host: "a", port: 1)
        let b = ProxyConfiguration.Target.hostPort(host: "b", port: 2)
        cache.store(a, for: "a", now: 100)
        #expect(cache.target(for: "a", now: 100) == a)
        #expect(cache.target(for: "a", now: 109) == a)
        #expect(cache.target(for: "a", now: 110) == nil)
        #expect(cache.entries.isEmpty)
        cache.store(a, for: "a", now: 200)
        cache.store(b, for: "b", now: 201)
        cache.store(a, for: "c", now: 202)
        cache.store(b, for: "d", now: 203)  // full: the oldest ("a") goes
        #expect(cache.entries.count == 3 && cache.target(for: "a", now: 203) == nil && cache.target(for: "b", now: 203) == b)
        cache.store(a, for: "e", now: 212)  // "b" and "c" expired: both go, nothing else
        #expect(Set(cache.entries.keys) == ["d", "e"])
        cache.store(b, for: "d", now: 212)  // a known token is replaced, nothing evicted
        #expect(cache.entries.count == 2 && cache.target(for: "d", now: 221) == b)
    }

    @Test(
        "answers: 2xx names the target, 4xx or a null host is an unknown token (404), 5xx is 503, an unusable body 502",
        arguments: [
            (200, #"{"host": "10.0.0.5", "port": 5900}"#, TokenAPIStore.Format.json, 0),
            (200, #"{"host": "10.0.0.5", "port": "5900"}"#, .json, 0),
            (200, #"{"host": "10.0.0.5:5900"}"#, .json, 0),
            (203, "10.0.0.5:5900\n", .plain, 0),
            (404, #"{"error": "no such token"}"#, .json, 404), (403, "", .plain, 404), (410, "", .json, 404),
            (200, #"{"host": null, "port": 5900}"#, .json, 404), (200, "null", .json, 404),
            (500, "", .json, 503), (503, "", .plain, 503),
            (200, "not json{", .json, 502), (200, #"["10.0.0.5", 5900]"#, .json, 502), (200, #"{"port": 5900}"#, .json, 502),
            (200, #"{"host": "h", "port": "x"}"#, .json, 502), (200, "", .plain, 502), (200, "hostonly", .plain, 502),
            (304, "", .json, 502),
        ])
    func answers(status: Int, body: String, format: TokenAPIStore.Format, refused: Int) {
        let result = TokenAPIStore.interpret(
            status: HTTPResponseStatus(statusCode: status), body: Array(body.utf8), format: format, token: "t",
            store: "JSONTokenApi http://api/%s")
        switch result {
        case .success(let target):
            #expect(refused == 0 && target == .hostPort(host: "10.0.0.5", port: 5900))
        case .failure(let refusal):
            #expect(Int(refusal.status.code) == refused, "\(refusal)")
            if refused == 404 { #expect(refusal.message == "Unknown token." && refusal.logMessage.hasPrefix("unknown token 't'")) }
        }
    }

    @Test("through a real HTTP server: lookups, escapes, the cache (clock moved by the test), an API that is down, shutdown")
    func server() async throws {
        let api = try await FakeTokenAPI.start(answers: [
            "alpha": (.ok, #"{"host": "10.0.0.1", "port": 5901}"#), "a b/c": (.ok, #"{"host": "10.0.0.2", "port": "5902"}"#),
            "boom": (.internalServerError, "oops"), "junk": (.ok, "<html>"),
        ])
        let clock = NIOLockedValueBox<UInt64>(1_000)
        let store = TokenAPIStore(
            url: try TokenAPIURL("http://127.0.0.1:\(api.port)/token/%s"), format: .json, now: { clock.withLockedValue { $0 } })
        #expect(try await store.target(forToken: "alpha", on: loop).get() == .hostPort(host: "10.0.0.1", port: 5901))
        #expect(try await store.target(forToken: "a b/c", on: loop).get() == .hostPort(host: "10.0.0.2", port: 5902))
        #expect(api.paths.withLockedValue { $0 } == ["/token/alpha", "/token/a%20b%2Fc"])
        // Within 10 s the API is not asked again; at 10 s it is.
        clock.withLockedValue { $0 += 9_999_999_999 }
        #expect(try await store.target(forToken: "alpha", on: loop).get() == .hostPort(host: "10.0.0.1", port: 5901))
        #expect(api.paths.withLockedValue { $0.count } == 2)
        clock.withLockedValue { $0 += 1 }
        #expect(try await store.target(forToken: "alpha", on: loop).get() == .hostPort(host: "10.0.0.1", port: 5901))
        #expect(api.paths.withLockedValue { $0.count } == 3)
        // Unknown tokens and errors are not kept: each lookup asks.
        for _ in 0..<2 {
            #expect(await refusal(store.target(forToken: "nosuch", on: loop))?.status == .notFound)
            #expect(await refusal(store.target(forToken: "boom", on: loop))?.status == .serviceUnavailable)
            #expect(await refusal(store.target(forToken: "junk", on: loop))?.status == .badGateway)
        }
        #expect(api.paths.withLockedValue { $0.count } == 9)
        try await api.stop()
        let down = try #require(await refusal(store.target(forToken: "nosuch", on: loop)))
        #expect(down.status == .serviceUnavailable && down.logMessage.contains("127.0.0.1:\(api.port)"), "\(down)")
        await store.shutdown()
        #expect(await refusal(store.target(forToken: "gamma", on: loop))?.status == .serviceUnavailable)
        // A store that never looked anything up shuts down at once.
        await TokenAPIStore(url: try TokenAPIURL("http://127.0.0.1:1/%s"), format: .plain).shutdown()
    }

    @Test("an API slower than the timeout: 503 once the request timeout has passed")
    func slow() async throws {
        // The API would answer 404 after two minutes: a 503 naming the 300 ms timeout can only come from
        // the timeout. No upper bound on the wait: on a loaded machine the test's own continuation can
        // resume seconds late (20 s once in CI, with every suite starting at once on two cores).
        let api = try await FakeTokenAPI.start(answers: [:], delay: .seconds(120))
        var timeouts = TokenAPIStore.Timeouts()
        timeouts.request = .milliseconds(300)
        let store = TokenAPIStore(url: try TokenAPIURL("http://127.0.0.1:\(api.port)/%s"), format: .plain, timeouts: timeouts)
        let started = ContinuousClock.now
        let refused = try #require(await refusal(store.target(forToken: "t", on: loop)))
        let waited = ContinuousClock.now - started
        #expect(refused.status == .serviceUnavailable && refused.logMessage.contains("no answer within 300 ms"), "\(refused)")
        #expect(waited >= .milliseconds(300), "\(waited)")
        await store.shutdown()
        try await api.stop()
    }

    @Test("the resolver websockify shuts down at exit closes the token API's client: later lookups get 503")
    func resolverShutdown() async throws {
        let resolver = try TokenPlugins.make(
            plugin: "JSONTokenApi", source: "http://127.0.0.1:1/token/%s", hostToken: false, logger: .init(label: "t"))
        await resolver.shutdown()
        let refused = try #require(await refusal(resolver.store.target(forToken: "t", on: loop)))
        #expect(refused.status == .serviceUnavailable && refused.logMessage == "token lookup while shutting down", "\(refused)")
    }

    @Test("a Python class from another module: plugins are built in; the message lists them and points at JSONTokenApi")
    func pythonClass() {
        #expect {
            try TokenPlugins.make(plugin: "mymod.MyPlugin", source: "x", hostToken: false, logger: .init(label: "t"))
        } throws: { error in
            let message = (error as? ProxyError)?.message ?? ""
            return message.contains("built in") && message.contains("UnixDomainSocketDirectory")
                && message.contains("JSONTokenApi --token-source=")
        }
        #expect {
            try TokenPlugins.make(plugin: "NoSuch", source: "x", hostToken: false, logger: .init(label: "t"))
        } throws: { error in ((error as? ProxyError)?.message ?? "").contains("unknown plugin") }
    }
}

/// An HTTP/1.1 server on 127.0.0.1 answering `GET /…/TOKEN` from a table (404 for other tokens),
/// after `delay`; it records each request's path.
struct FakeTokenAPI {
    let channel: any Channel
    let port: Int
    let paths: NIOLockedValueBox<[String]>
    let connections: NIOLockedValueBox<[any Channel]>

    /// Stops listening and closes the connections a client keeps open.
    func stop() async throws {
        try await channel.close()
        for connection in connections.withLockedValue({ $0 }) { try? await connection.close() }
    }

    static func start(answers: [String: (HTTPResponseStatus, String)], delay: TimeAmount = .zero) async throws -> FakeTokenAPI {
        let paths = NIOLockedValueBox<[String]>([])
        let connections = NIOLockedValueBox<[any Channel]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.withLockedValue { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(answers: answers, delay: delay, paths: paths))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeTokenAPI(
            channel: channel, port: try #require(channel.localAddress?.port), paths: paths, connections: connections)
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let answers: [String: (HTTPResponseStatus, String)]
        let delay: TimeAmount
        let paths: NIOLockedValueBox<[String]>

        init(answers: [String: (HTTPResponseStatus, String)], delay: TimeAmount, paths: NIOLockedValueBox<[String]>) {
            self.answers = answers
            self.delay = delay
            self.paths = paths
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let head) = unwrapInboundIn(data) else { return }
            paths.withLockedValue { $0.append(head.uri) }
            let encoded = String(head.uri.split(separator: "/").last ?? "")
            let token = encoded.removingPercentEncoding ?? encoded
            let (status, body) = answers[token] ?? (.notFound, "")
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: delay) {
                let context = loopBound.value
                var headers = HTTPHeaders([("Content-Length", "\(body.utf8.count)")])
                headers.add(name: "Content-Type", value: "application/json")
                context.write(NIOAny(HTTPServerResponsePart.head(.init(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            }
        }
    }
}
