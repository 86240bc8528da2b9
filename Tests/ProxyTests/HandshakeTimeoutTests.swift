import MetricsTestKit
import NIOCore
import NIOEmbedded
import Testing

@testable import Proxy

/// `--handshake-timeout`: a connection that has not sent a complete request in time is dropped,
/// without an answer, and counted; the time runs again for each request of a kept-alive connection.
@Suite("Handshake timeout")
struct HandshakeTimeoutTests {
    let recorded = TestMetrics()

    func timeouts() throws -> Int64 {
        try recorded.expectCounter(ProxyMetrics.Label.handshakeTimeouts).totalValue
    }

    func connection() throws -> HandshakeHealthTests.Connection {
        let metrics = ProxyMetrics(factory: recorded)
        return try HandshakeHealthTests.Connection {
            $0.metrics = metrics
            $0.timeouts.handshake = .seconds(3)
            $0.webResponder = HandshakeHealthTests.CountingWeb()
        }
    }

    @Test("half a request head: dropped at the timeout, not before, and counted")
    func halfAHead() throws {
        let connection = try connection()
        #expect(try connection.ask("GET / HTTP/1.1\r\nHost: x\r\n").isEmpty)
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(2999))
        #expect(connection.channel.isActive)
        #expect(try timeouts() == 0)
        connection.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!connection.channel.isActive)
        #expect(try timeouts() == 1)
    }

    @Test("a kept-alive connection gets the whole time again after each request")
    func keptAlive() throws {
        let connection = try connection()
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(try connection.ask("GET /a HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 299"))
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(connection.channel.isActive, "4 s after connecting, 2 s after the last request")
        connection.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!connection.channel.isActive)
        #expect(try timeouts() == 1)
    }
}
