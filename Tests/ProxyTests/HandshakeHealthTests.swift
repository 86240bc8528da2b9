import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Proxy

/// The health path through the handshake handler on an `EmbeddedChannel` (the pipeline a connection
/// gets): answered before auth and the web server, 200 while accepting, 503 once the server drains.
@Suite("Health path in the handshake handler")
struct HandshakeHealthTests {
    /// Refuses every request, as an auth plugin would a balancer without credentials.
    struct RefuseAll: RequestAuthenticator {
        func authenticate(_ request: ConnectionRequest) -> RequestRefusal? {
            RequestRefusal(status: .unauthorized, message: "no credentials")
        }
    }

    /// Answers every web request with 299 (a status no other part uses) and counts them.
    final class CountingWeb: WebResponder {
        let served = NIOLockedValueBox<[String]>([])

        func respond(to request: ConnectionRequest, channel: any Channel) -> EventLoopFuture<Bool> {
            served.withLockedValue { $0.append(request.head.uri) }
            channel.write(HTTPServerResponsePart.head(HTTPResponseHead(
                version: .http1_1, status: .custom(code: 299, reasonPhrase: "Web"),
                headers: ["Content-Length": "0"])), promise: nil)
            return channel.writeAndFlush(HTTPServerResponsePart.end(nil)).map { true }
        }
    }

    /// A connection of a server configured by `configure`, with its handshake pipeline.
    struct Connection {
        let server: ServerContext
        let channel = EmbeddedChannel()

        init(_ configure: (inout ProxyConfiguration) throws -> Void) throws {
            var configuration = ProxyConfiguration(listenPort: 0, upstream: .fixed(.unixSocket(path: "/nowhere")))
            try configure(&configuration)
            try self.init(
                server: ServerContext(configuration: configuration, logger: Logger(label: "test"), onSessionEnded: { _ in }))
        }

        /// Another connection to `server`, from `peer`.
        init(server: ServerContext, peer: String = "192.0.2.1") throws {
            self.server = server
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(HeaderLimitHandler(limit: 16 << 10), name: HandshakeHandler.limitName)
            try sync.addHandler(
                ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)),
                name: HandshakeHandler.decoderName)
            try sync.addHandler(HTTPResponseEncoder(), name: HandshakeHandler.encoderName)
            try sync.addHandler(HandshakeHandler(server: server))
            try channel.connect(to: SocketAddress(ipAddress: peer, port: 6080)).wait()
        }

        /// Sends `request` and returns everything answered so far.
        func ask(_ request: String) throws -> String {
            try channel.writeInbound(ByteBuffer(string: request))
            channel.embeddedEventLoop.run()
            var text = ""
            while let part = try channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = part { text += String(buffer: buffer) }
            }
            return text
        }
    }

    let get = "GET /healthz HTTP/1.1\r\nHost: lb\r\n\r\n"

    @Test("200 while accepting, on one kept-alive connection; 503 and closed once draining")
    func acceptingThenDraining() throws {
        let connection = try Connection { $0.healthCheck = try HealthCheck(path: "/healthz") }
        let first = try connection.ask(get)
        #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(first.hasSuffix("\r\n\r\nok\n"))
        let head = try connection.ask("HEAD /healthz?from=lb HTTP/1.1\r\nHost: lb\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"), "a HEAD answer has no body")
        #expect(connection.channel.isActive)
        #expect(connection.server.enter(.draining))
        let draining = try connection.ask(get)
        #expect(draining.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(draining.lowercased().contains("connection: close"))
        #expect(!connection.channel.isActive, "a draining answer closes the connection")
    }

    @Test("other paths keep their answers: 404 without --web")
    func otherPathsUnchanged() throws {
        let connection = try Connection { $0.healthCheck = try HealthCheck(path: "/healthz") }
        #expect(try connection.ask("GET /healthz2 HTTP/1.1\r\nHost: lb\r\n\r\n").hasPrefix("HTTP/1.1 404 "))
    }

    @Test("no auth plugin applies to the health path (--web-auth included); other requests still need it")
    func noAuth() throws {
        let web = CountingWeb()
        let connection = try Connection {
            $0.healthCheck = try HealthCheck(path: "/healthz")
            $0.authenticator = RefuseAll()
            $0.webResponder = web
            $0.authenticateWebRequests = true
        }
        #expect(try connection.ask(get).hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(try connection.ask("GET /vnc.html HTTP/1.1\r\nHost: lb\r\n\r\n").hasPrefix("HTTP/1.1 401 "))
        #expect(web.served.withLockedValue { $0 }.isEmpty)
    }

    @Test("with --web the health path wins over a file of that name; other paths go to the web server")
    func winsOverWeb() throws {
        let web = CountingWeb()
        let connection = try Connection {
            $0.healthCheck = try HealthCheck(path: "/healthz")
            $0.webResponder = web
        }
        #expect(try connection.ask(get).hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(try connection.ask("GET /healthz.html HTTP/1.1\r\nHost: lb\r\n\r\n").hasPrefix("HTTP/1.1 299 Web"))
        #expect(web.served.withLockedValue { $0 } == ["/healthz.html"])
    }

    @Test("without --health-path the path is nothing special")
    func offByDefault() throws {
        let connection = try Connection { _ in }
        #expect(try connection.ask(get).hasPrefix("HTTP/1.1 404 "))
    }
}
