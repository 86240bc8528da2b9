import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ProxyTestSupport
import Testing

@testable import Proxy
@testable import ProxyPlugins

func request(_ headers: [(String, String)] = [], uri: String = "/", verifiedCNs: [String] = []) -> ConnectionRequest {
    ConnectionRequest(
        head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: HTTPHeaders(headers)),
        clientAddress: "127.0.0.1:1", isTLS: !verifiedCNs.isEmpty, verifiedClientCommonNames: verifiedCNs)
}

@Suite("Auth plugins")
struct AuthPluginTests {
    func basic(_ userPass: String) -> (String, String) {
        ("Authorization", "Basic " + Data(userPass.utf8).base64EncodedString())
    }

    @Test("BasicHTTPAuth: 401 asks for credentials, 403 for a malformed header, the right pair passes")
    func basicAuth() throws {
        let auth = try BasicHTTPAuth(source: "alice:s3cr:et")
        #expect(auth.authenticate(request([basic("alice:s3cr:et")])) == nil)
        for headers in [[], [basic("alice:badpw")], [basic("bob:s3cr:et")], [basic("alice:s3cr:et2")]] {
            let refusal = try #require(auth.authenticate(request(headers)))
            #expect(refusal.status == .unauthorized)
            #expect(refusal.headers.first(name: "WWW-Authenticate") == "Basic realm=\"websockify\"")
            #expect(!refusal.logMessage.contains("s3cr") && !refusal.logMessage.contains("badpw"))
        }
        for header in ["Bearer abc", "Basic !!!", "Basic " + Data("nocolon".utf8).base64EncodedString()] {
            #expect(auth.authenticate(request([("Authorization", header)]))?.status == .forbidden, "\(header)")
        }
        #expect(throws: ProxyError.self) { try BasicHTTPAuth(source: "nopassword") }
        #expect(BasicHTTPAuth.constantTimeEqual(Array("ab".utf8), Array("ab".utf8)))
        #expect(!BasicHTTPAuth.constantTimeEqual(Array("ab".utf8), Array("abc".utf8)))
        #expect(!BasicHTTPAuth.constantTimeEqual(Array("ab\0".utf8), Array("ab".utf8)))
    }

    @Test("ExpectOrigin: exactly one of the listed origins passes; others and none get 403")
    func expectOrigin() throws {
        let auth = try ExpectOrigin(source: "https://a.example  https://b.example")
        #expect(auth.authenticate(request([("Origin", "https://b.example")])) == nil)
        for headers in [[], [("Origin", "https://evil.example")], [("Origin", "https://a.example:443")]] {
            #expect(auth.authenticate(request(headers))?.status == .forbidden)
        }
        #expect(throws: ProxyError.self) { try ExpectOrigin(source: "  ") }
    }

    @Test("ClientCertCNAuth: only the verified certificate's CN counts, never an ssl_client_s_dn_cn header")
    func clientCertCN() throws {
        let auth = try ClientCertCNAuth(source: "alice bob")
        #expect(auth.authenticate(request(verifiedCNs: ["bob"])) == nil)
        #expect(auth.authenticate(request(verifiedCNs: ["mallory"]))?.status == .forbidden)
        let forged = [("ssl_client_s_dn_cn", "alice"), ("SSL_CLIENT_S_DN_CN", "alice"), ("X-SSL-Client-CN", "alice")]
        let refusal = try #require(auth.authenticate(request(forged)))
        #expect(refusal.status == .forbidden && refusal.logMessage.contains("no verified client certificate"))
    }

    @Test("plugin names: short and websockify's dotted form; unknown names and missing sources are usage errors")
    func names() throws {
        #expect(try AuthPlugins.make(plugin: "websockify.auth_plugins.ExpectOrigin", source: "https://a") is ExpectOrigin)
        #expect(try AuthPlugins.make(plugin: "BasicHTTPAuth", source: "u:p") is BasicHTTPAuth)
        #expect(throws: ProxyError.self) { try AuthPlugins.make(plugin: "NoSuchAuth", source: "x") }
        #expect(throws: ProxyError.self) { try AuthPlugins.make(plugin: "ExpectOrigin", source: nil) }
        #expect(throws: ProxyError.self) { try AuthPlugins.make(plugin: "other.module.ExpectOrigin", source: "x") }
    }

    @Test("through the server: a forged ssl_client_s_dn_cn header gets 403 before any upgrade")
    func forgedHeaderOverTheWire() async throws {
        var configuration = ProxyConfiguration(
            listenHost: "127.0.0.1", listenPort: 0, upstream: .fixed(.hostPort(host: "127.0.0.1", port: 9)))
        configuration.authenticator = try ClientCertCNAuth(source: "alice")
        configuration.eventLoopThreads = 1
        // A loaded test run (other suites hold the cooperative pool) may send its request late.
        configuration.timeouts.handshake = .seconds(120)
        let answer = try await exchange(
            configuration,
            "GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nssl_client_s_dn_cn: alice\r\n"
                + "SSL_CLIENT_S_DN_CN: alice\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 403 Forbidden\r\n"), "\(answer)")
        #expect(!answer.contains("101"))
    }
}

/// Runs a proxy with `configuration`, sends `request` raw, returns everything it answers until it closes.
func exchange(_ configuration: ProxyConfiguration, _ request: String) async throws -> String {
    let server = ProxyServer(configuration: configuration, logger: Logger(label: "test"), handleSignals: false)
    let running = Task { try await server.run() }
    defer { server.stop() }
    try await waitFor("the server to listen") { server.localPort != nil }
    let group = MultiThreadedEventLoopGroup.singleton
    let collector = CollectHandler()
    let client = try await ClientBootstrap(group: group)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
        }
        .connect(host: "127.0.0.1", port: try #require(server.localPort)).get()
    try await client.writeAndFlush(ByteBuffer(string: request))
    try await waitFor("the proxy to answer and close") { collector.closed.withLockedValue { $0 } }
    server.stop()
    _ = try await running.value
    return String(decoding: collector.received.withLockedValue { $0 }, as: UTF8.self)
}
