import MetricsTestKit
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Proxy

/// What the proxy counts (`--metrics-listen`): sessions, bytes and frames per direction (added once
/// per read burst, not per frame), durations, target failures, refusals by reason, token lookups.
@Suite("Proxy metrics")
struct ProxyMetricsTests {
    let recorded = TestMetrics()
    var metrics: ProxyMetrics { ProxyMetrics(factory: recorded) }

    private func counter(_ label: String, _ dimensions: [(String, String)] = []) throws -> TestCounter {
        try recorded.expectCounter(label, dimensions)
    }

    private func direction(_ name: String) -> [(String, String)] { [("direction", name)] }

    @Test("a session: open while it runs; bytes and frames per direction, one addition per read burst")
    func sessionCounts() throws {
        let session = try SessionHarness(metrics: metrics)
        #expect(try recorded.expectMeter(ProxyMetrics.Label.sessionsOpen).lastValue == 1)

        var burst = clientFrame(opcode: 2, payload: [1, 2, 3])
        var second = clientFrame(opcode: 2, payload: [4, 5])
        var third = clientFrame(opcode: 9, payload: [6])
        burst.writeBuffer(&second)
        burst.writeBuffer(&third)
        try session.client.writeInbound(burst)
        // Three frames in one read: one addition each, already visible while the session runs.
        #expect(try counter(ProxyMetrics.Label.frames, direction("client_to_target")).values == [3])
        #expect(try counter(ProxyMetrics.Label.bytes, direction("client_to_target")).values == [6])
        // The pong for the ping goes out in the same burst.
        #expect(try counter(ProxyMetrics.Label.frames, direction("target_to_client")).values == [1])

        try session.target.writeInbound(ByteBuffer(string: "world"))
        #expect(try counter(ProxyMetrics.Label.frames, direction("target_to_client")).totalValue == 2)
        #expect(try counter(ProxyMetrics.Label.bytes, direction("target_to_client")).totalValue == 6)

        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1000)))
        try session.client.close().wait()
        // The close frame (2 bytes each way) is counted at the end.
        #expect(try counter(ProxyMetrics.Label.frames, direction("client_to_target")).totalValue == 4)
        #expect(try counter(ProxyMetrics.Label.bytes, direction("client_to_target")).totalValue == 8)
        #expect(try counter(ProxyMetrics.Label.bytes, direction("target_to_client")).totalValue == 8)
        #expect(try counter(ProxyMetrics.Label.sessionsEnded, [("closed_by", "client")]).totalValue == 1)
        #expect(try counter(ProxyMetrics.Label.sessionsEnded, [("closed_by", "target")]).totalValue == 0)
        #expect(try recorded.expectMeter(ProxyMetrics.Label.sessionsOpen).lastValue == 0)
        #expect(try recorded.expectTimer(ProxyMetrics.Label.sessionDuration).values.count == 1)
        try session.end()
    }

    @Test("the target closes: closed by target")
    func targetCloses() throws {
        let session = try SessionHarness(metrics: metrics)
        try session.target.close().wait()
        try session.client.close().wait()
        #expect(try counter(ProxyMetrics.Label.sessionsEnded, [("closed_by", "target")]).totalValue == 1)
        #expect(try counter(ProxyMetrics.Label.targetConnectFailures).totalValue == 0)
    }

    @Test("a target that cannot be reached: a connect failure, the session ended by the proxy")
    func targetUnreachable() throws {
        let session = try SessionHarness(connect: .later, metrics: metrics)
        session.failTarget()
        try session.client.close().wait()
        #expect(try counter(ProxyMetrics.Label.targetConnectFailures).totalValue == 1)
        #expect(try counter(ProxyMetrics.Label.sessionsEnded, [("closed_by", "proxy")]).totalValue == 1)
        #expect(try recorded.expectMeter(ProxyMetrics.Label.sessionsOpen).lastValue == 0)
        try session.end()
    }

    // MARK: Refusals

    /// A resolver that answers every lookup with `outcome`.
    struct FixedResolver: TargetResolver {
        let outcome: Result<ProxyConfiguration.Target, any Error>
        var pluginName: String { "Fixed" }
        var summary: String { "test" }

        func resolveTarget(for request: ConnectionRequest, on eventLoop: any EventLoop)
            -> EventLoopFuture<ProxyConfiguration.Target>
        {
            eventLoop.makeCompletedFuture(outcome)
        }
    }

    struct StoreBroke: Error {}

    private let upgrade =
        "GET /?token=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    private func refusals(_ reason: ProxyMetrics.RefusalReason) throws -> Int64 {
        try counter(ProxyMetrics.Label.refusals, [("reason", reason.rawValue)]).totalValue
    }

    @Test("refusals by reason: auth, bad handshake, malformed HTTP; a plain web request is no session")
    func handshakeRefusals() throws {
        let metrics = self.metrics
        let auth = try HandshakeHealthTests.Connection {
            $0.metrics = metrics
            $0.authenticator = HandshakeHealthTests.RefuseAll()
        }
        #expect(try auth.ask(upgrade).hasPrefix("HTTP/1.1 401"))
        let noKey = try HandshakeHealthTests.Connection { $0.metrics = metrics }
        #expect(try noKey.ask("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        let garbage = try HandshakeHealthTests.Connection { $0.metrics = metrics }
        _ = try? garbage.ask("NOT HTTP AT ALL\r\n\r\n")
        let page = try HandshakeHealthTests.Connection { $0.metrics = metrics }
        #expect(try page.ask("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 404"))

        #expect(try refusals(.auth) == 1)
        #expect(try refusals(.badHandshake) == 2)
        #expect(try refusals(.tls) == 0)
        #expect(try refusals(.unknownToken) == 0)
    }

    @Test("token lookups: unknown, store down (503 or an error), bad token; counted and timed by plugin")
    func tokenRefusals() throws {
        let outcomes: [Result<ProxyConfiguration.Target, any Error>] = [
            .failure(RequestRefusal(status: .notFound, message: "Unknown token.")),
            .failure(RequestRefusal(status: .serviceUnavailable, message: "down")),
            .failure(StoreBroke()),
            .failure(RequestRefusal(status: .forbidden, message: "bad")),
        ]
        let metrics = self.metrics
        for outcome in outcomes {
            let connection = try HandshakeHealthTests.Connection {
                $0.metrics = metrics
                $0.upstream = .resolver(FixedResolver(outcome: outcome))
            }
            _ = try connection.ask(upgrade)
        }
        #expect(try refusals(.unknownToken) == 1)
        #expect(try refusals(.tokenStoreDown) == 2)
        #expect(try refusals(.badToken) == 1)
        let lookups = { (result: String) in
            try self.counter(ProxyMetrics.Label.tokenLookups, [("plugin", "Fixed"), ("result", result)]).totalValue
        }
        #expect(try lookups("unknown") == 1)
        #expect(try lookups("store_down") == 2)
        #expect(try lookups("refused") == 1)
        #expect(try recorded.expectTimer(ProxyMetrics.Label.tokenLookupDuration, [("plugin", "Fixed")]).values.count == 4)
    }
}
