import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Proxy
import ProxyTestSupport
@testable import StaticWeb
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Lets a request through only with `X-Test-Key: open-sesame` (a stand-in for an auth plugin).
struct KeyAuthenticator: RequestAuthenticator {
    func authenticate(_ request: ConnectionRequest) -> RequestRefusal? {
        request.head.headers.first(name: "x-test-key") == "open-sesame"
            ? nil : RequestRefusal(status: .unauthorized, headers: ["WWW-Authenticate": "Test"], message: "Key required.")
    }
}

@Suite("Static file server over real sockets", .serialized)
struct StaticFileServerTests {
    /// Runs a proxy serving `tree` on port 0 (target: nothing listening), hands its port to `body`.
    func withServer(
        _ tree: WebTree, authenticator: (any RequestAuthenticator)? = nil, webAuth: Bool = false,
        writeTimeout: TimeAmount = .seconds(30), _ body: (Int) async throws -> Void
    ) async throws {
        var configuration = ProxyConfiguration(
            listenHost: "127.0.0.1", listenPort: 0, upstream: .fixed(.hostPort(host: "127.0.0.1", port: 9)))
        configuration.eventLoopThreads = 1
        // A loaded test run (other suites hold the cooperative pool) may send its request late.
        configuration.timeouts.handshake = .seconds(120)
        configuration.webResponder = try StaticFileServer(
            configuration: WebConfiguration(root: tree.root, writeTimeout: writeTimeout))
        configuration.authenticator = authenticator
        configuration.authenticateWebRequests = webAuth
        let server = ProxyServer(configuration: configuration, logger: Logger(label: "test"), handleSignals: false)
        let running = Task { try await server.run() }
        try await waitFor("the server to listen") { server.localPort != nil }
        do {
            try await body(try #require(server.localPort))
        } catch {
            server.stop()
            _ = try? await running.value
            throw error
        }
        server.stop()
        _ = try await running.value
    }

    /// Sends `request` on one connection and returns everything received until the server closes it.
    func exchange(_ port: Int, _ request: String) async throws -> String {
        let group = MultiThreadedEventLoopGroup.singleton
        let (client, collector) = try await connectCollecting(group: group, port: port)
        try await client.writeAndFlush(ByteBuffer(string: request))
        try await waitFor("the server to close the connection") { collector.closed.withLockedValue { $0 } }
        return String(decoding: collector.received.withLockedValue { $0 }, as: UTF8.self)
    }

    @Test("two requests on one kept-alive connection, then Connection: close ends it")
    func keepAlive() async throws {
        let tree = try WebTree()
        defer { tree.remove() }
        try await withServer(tree) { port in
            let answer = try await exchange(
                port,
                "GET /sub/file.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let responses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(responses.count == 3, "\(answer)")
            guard responses.count == 3 else { return }
            let first = responses[responses.startIndex]
            #expect(first.hasPrefix("200 OK"))
            #expect(first.contains("Content-Length: 6\r\n"))
            #expect(first.hasSuffix("\r\n\r\ninside"))
            #expect(!first.contains("Connection: close"))
            let second = responses[responses.startIndex + 1]
            #expect(second.hasPrefix("200 OK"))
            #expect(second.contains("Content-Type: text/html; charset=utf-8\r\n"))
            #expect(second.contains("Content-Length: 13\r\n"))
            #expect(second.hasSuffix("\r\n\r\n"), "HEAD has no body: \(second)")
            let third = responses[responses.startIndex + 2]
            #expect(third.hasPrefix("404 Not Found"))
            #expect(third.contains("Connection: close\r\n"))
        }
    }

    @Test("HTTP/1.0 gets its answer and the connection closes")
    func http10Closes() async throws {
        let tree = try WebTree()
        defer { tree.remove() }
        try await withServer(tree) { port in
            let answer = try await exchange(port, "GET /sub/file.txt HTTP/1.0\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
            #expect(answer.contains("Connection: close\r\n"))
            #expect(answer.hasSuffix("inside"))
        }
    }

    @Test("If-Modified-Since: 304 when the file is not newer, 200 when it is")
    func conditionalGet() async throws {
        let tree = try WebTree()
        defer { tree.remove() }
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)], ofItemAtPath: tree.root + "/sub/file.txt")
        try await withServer(tree) { port in
            let stamp = HTTPDate.format(1_700_000_000)
            let fresh = try await exchange(
                port, "GET /sub/file.txt HTTP/1.1\r\nIf-Modified-Since: \(stamp)\r\nConnection: close\r\n\r\n")
            #expect(fresh.hasPrefix("HTTP/1.1 304 Not Modified"), "\(fresh)")
            #expect(fresh.hasSuffix("\r\n\r\n"))
            let older = HTTPDate.format(1_699_999_999)
            let stale = try await exchange(
                port, "GET /sub/file.txt HTTP/1.1\r\nIf-Modified-Since: \(older)\r\nConnection: close\r\n\r\n")
            #expect(stale.hasPrefix("HTTP/1.1 200 OK"))
            #expect(stale.contains("Last-Modified: \(stamp)\r\n"))
        }
    }

    @Test("web requests pass without --web-auth; with it the authenticator decides; upgrades are always checked")
    func webAuth() async throws {
        let tree = try WebTree()
        defer { tree.remove() }
        let get = "GET /sub/file.txt HTTP/1.1\r\nConnection: close\r\n"
        let upgrade =
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\n\r\n"
        try await withServer(tree, authenticator: KeyAuthenticator(), webAuth: false) { port in
            let open = try await exchange(port, get + "\r\n")
            #expect(open.hasPrefix("HTTP/1.1 200 OK"))
            let upgraded = try await exchange(port, upgrade)
            #expect(upgraded.hasPrefix("HTTP/1.1 401 Unauthorized"))
        }
        try await withServer(tree, authenticator: KeyAuthenticator(), webAuth: true) { port in
            let refused = try await exchange(port, get + "\r\n")
            #expect(refused.hasPrefix("HTTP/1.1 401 Unauthorized"))
            #expect(refused.contains("WWW-Authenticate: Test\r\n"))
            #expect(!refused.contains("inside"))
            let allowed = try await exchange(port, get + "X-Test-Key: open-sesame\r\n\r\n")
            #expect(allowed.hasPrefix("HTTP/1.1 200 OK"))
            #expect(allowed.hasSuffix("inside"))
        }
    }

    /// Whether this process has `path` open.
    static func isOpen(_ path: String) -> Bool {
        let manager = FileManager.default
        let fds = (try? manager.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.contains { (try? manager.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == path }
    }

    @Test("a client that stops reading a download is cut off after the write timeout, and the file is closed")
    func stalledDownloadIsClosed() async throws {
        let tree = try WebTree()
        defer { tree.remove() }
        let big = URL(fileURLWithPath: tree.root + "/big.bin").resolvingSymlinksInPath().path
        let size = 64 << 20  // far more than the socket buffers hold
        try #require(FileManager.default.createFile(atPath: big, contents: nil) && truncate(big, off_t(size)) == 0)
        try await withServer(tree, writeTimeout: .seconds(1)) { port in
            let collector = CollectHandler()
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.autoRead, value: false)
                .channelOption(.socketOption(.so_rcvbuf), value: 4096)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
                }
                .connect(host: "127.0.0.1", port: port).get()
            try await client.writeAndFlush(ByteBuffer(string: "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"))
            try await waitFor("the download to start") { Self.isOpen(big) }
            // The client reads nothing: the server gives up on it and closes the file.
            try await waitFor("the server to close the stalled download", timeout: 30) { !Self.isOpen(big) }
            // Reading again, the client gets what was under way, then the end: not the whole file.
            try await client.setOption(.autoRead, value: true).get()
            client.read()
            try await waitFor("the connection to end", timeout: 30) { collector.closed.withLockedValue { $0 } }
            let received = collector.received.withLockedValue { $0.count }
            #expect(received > 0 && received < size, "\(received) bytes")
        }
    }
}
