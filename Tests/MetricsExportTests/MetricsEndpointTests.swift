import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ProxyTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import MetricsExport

/// The `/metrics` endpoint on a real loopback socket.
@Suite struct MetricsEndpointTests {
    /// Sends `request` to the endpoint and returns the whole answer (the endpoint closes after it).
    private func exchange(_ request: String, port: Int) async throws -> String {
        let (client, collector) = try await connectCollecting(group: .singleton, port: port)
        try await client.writeAndFlush(client.allocator.buffer(string: request))
        try await waitFor("the endpoint to answer and close") { collector.closed.withLockedValue { $0 } }
        return String(decoding: collector.received.withLockedValue { $0 }, as: UTF8.self)
    }

    private func startEndpoint(_ registry: MetricsRegistry) async throws -> (MetricsEndpoint, Int) {
        let endpoint = try await MetricsEndpoint.bind(
            host: "127.0.0.1", port: 0, registry: registry, logger: Logger(label: "test"))
        let port = try #require(endpoint.localAddress?.port)
        return (endpoint, port)
    }

    @Test func servesTheRegistryTextAtMetrics() async throws {
        let registry = MetricsRegistry()
        Counter(label: "test_things_total", dimensions: [("kind", "a")], factory: registry.factory).increment(by: 3)
        let (endpoint, port) = try await startEndpoint(registry)
        let answer = try await exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)
        try await endpoint.close()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(answer.hasSuffix("\r\n\r\n# TYPE test_things_total counter\ntest_things_total{kind=\"a\"} 3\n"))
    }

    @Test func otherPathsAre404AndOtherMethods405() async throws {
        let (endpoint, port) = try await startEndpoint(MetricsRegistry())
        let notFound = try await exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", port: port)
        let wrongMethod = try await exchange(
            "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", port: port)
        try await endpoint.close()
        #expect(notFound.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(wrongMethod.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(wrongMethod.contains("Allow: GET, HEAD\r\n"))
    }

    @Test func aKeptAliveConnectionGetsOneAnswerPerScrape() async throws {
        let registry = MetricsRegistry()
        let counter = Counter(label: "test_scrapes_total", factory: registry.factory)
        registry.beforeScrape { counter.increment() }
        let (endpoint, port) = try await startEndpoint(registry)
        let (client, collector) = try await connectCollecting(group: .singleton, port: port)
        let request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        try await client.writeAndFlush(client.allocator.buffer(string: request + request))
        try await waitFor("two answers") {
            String(decoding: collector.received.withLockedValue { $0 }, as: UTF8.self).contains("test_scrapes_total 2\n")
        }
        let text = String(decoding: collector.received.withLockedValue { $0 }, as: UTF8.self)
        #expect(text.contains("test_scrapes_total 1\n"))
        #expect(!collector.closed.withLockedValue { $0 })
        try await client.close()
        try await endpoint.close()
    }

    @Test func aBusyPortIsAnErrorAtBind() async throws {
        let (endpoint, port) = try await startEndpoint(MetricsRegistry())
        await #expect(throws: (any Error).self) {
            _ = try await MetricsEndpoint.bind(host: "127.0.0.1", port: port, registry: MetricsRegistry(), logger: Logger(label: "t"))
        }
        try await endpoint.close()
    }

    @Test func describedSeriesGetTheirHelpLineAndTimersTheirBuckets() throws {
        let registry = MetricsRegistry(durationBuckets: ["test_wait_seconds": [.milliseconds(1), .seconds(2)]])
        registry.describe(["test_jobs_total": "Jobs done.", "test_wait_seconds": "How long \\ we waited."])
        Counter(label: "test_jobs_total", dimensions: [("kind", "a")], factory: registry.factory).increment()
        Counter(label: "test_jobs_total", dimensions: [("kind", "b")], factory: registry.factory).increment(by: 2)
        Timer(label: "test_wait_seconds", factory: registry.factory).recordMilliseconds(500)
        let late = Counter(label: "test_late_total", factory: registry.factory)
        // Described after it was made: it keeps no text, and making it again does not clash.
        registry.describe(["test_late_total": "Too late."])
        Counter(label: "test_late_total", factory: registry.factory).increment()
        late.increment()
        let text = String(decoding: registry.exposition(), as: UTF8.self)
        #expect(text.contains("# HELP test_jobs_total Jobs done.\n# TYPE test_jobs_total counter\n"))
        #expect(text.contains("test_jobs_total{kind=\"a\"} 1\n"))
        #expect(text.contains("test_jobs_total{kind=\"b\"} 2\n"))
        #expect(text.contains("# HELP test_wait_seconds How long \\\\ we waited.\n# TYPE test_wait_seconds histogram\n"))
        #expect(text.contains("test_wait_seconds_bucket{le=\"0.001\"} 0\n"))
        #expect(text.contains("test_wait_seconds_bucket{le=\"2.0\"} 1\n"))
        #expect(!text.contains("# HELP test_late_total"))
        #expect(text.contains("test_late_total 2\n"))
    }

    @Test func descriptorsAndTheirLimitAreSetAtEachScrape() throws {
        let registry = MetricsRegistry()
        ProcessResources.install(on: registry)
        let limit = try #require(ProcessResources.descriptorLimit())
        let text = String(decoding: registry.exposition(), as: UTF8.self)
        #expect(text.contains("\nprocess_max_fds \(limit)\n"))
        // Unlimited (which Linux allows for no NOFILE limit, but other limits and systems have) is
        // 2^64−1, as Prometheus' Go client reports it, not 0 (review #18).
        #expect(ProcessResources.gaugeValue(limit: rlim_t.max) == 18_446_744_073_709_551_615.0)
        #expect(ProcessResources.gaugeValue(limit: 1024) == 1024)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("process_open_fds ") })
        let open = try #require(Double(line.dropFirst("process_open_fds ".count)))
        // At least standard input, output and error; never more than the limit.
        #expect(open >= 3 && open <= Double(limit))
    }
}
