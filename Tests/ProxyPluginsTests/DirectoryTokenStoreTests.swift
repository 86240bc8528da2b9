import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TestSupport

@testable import Proxy
@testable import ProxyPlugins

@Suite("Tokens as names in a directory: TokenPath, TokenFileName, UnixDomainSocketDirectory")
struct DirectoryTokenStoreTests {
    let loop = MultiThreadedEventLoopGroup.singleton.next()

    @Test(
        "TokenPath: a token names a path inside the directory or none",
        arguments: [
            ("vm1", true, "/d/vm1"), ("vm1.sock", false, "/d/vm1.sock"), (".hidden", false, "/d/.hidden"),
            ("sub/vm1", true, "/d/sub/vm1"), ("a..b", false, "/d/a..b"),
        ])
    func pathInside(token: String, subdirectories: Bool, path: String) throws {
        #expect(try TokenPath.resolve(token, in: "/d", subdirectories: subdirectories).get() == path)
        #expect(try TokenPath.resolve(token, in: "/d/", subdirectories: subdirectories).get() == path)
    }

    @Test(
        "TokenPath: tokens that would leave the directory are refused, with the reason",
        arguments: [
            ("..", "'..'"), (".", "'.'"), ("../etc/passwd", "'..'"), ("sub/../../x", "'..'"), ("/etc/passwd", "empty path"),
            ("sub//x", "empty path"), ("sub/", "empty path"), ("", "empty"), ("a\u{0}b", "NUL"),
        ])
    func pathOutside(token: String, why: String) {
        for subdirectories in [true, false] {
            let error = TokenPath.resolve(token, in: "/d", subdirectories: subdirectories)
            #expect(throws: TokenPathError.self) { try error.get() }
            if case .failure(let error) = error, subdirectories { #expect(error.reason.contains(why), "\(error)") }
        }
        #expect(TokenPath.resolve("sub/x", in: "/d", subdirectories: false) == .failure(.init(reason: "contains '/'")))
    }

    @Test("TokenFileName: the file named after the token holds host:port; white space and newlines around it are dropped")
    func tokenFileName() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("tokens")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func write(_ name: String, _ text: String) throws {
            try text.write(to: dir.appendingPathComponent(name), atomically: false, encoding: .utf8)
        }
        try write("alpha", "10.0.0.1:5901")
        try write("beta", "  \n10.0.0.2:5902\r\n\n")
        try write("v6", "::1:5903\n")
        try write("v6b", "[fe80::1]:5904")
        try write("sock", "unix_socket:/run/vm.sock\n")
        try write("broken", "no port here\n")
        try write("two", "10.0.0.1:5901\n10.0.0.2:5902\n")
        try write("huge", String(repeating: " ", count: 5000) + "h:1")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("adir"), withIntermediateDirectories: true)
        try "10.9.9.9:1".write(to: root.appendingPathComponent("outside"), atomically: false, encoding: .utf8)
        let store = try DirectoryTokenStore(directory: dir.path, kind: .fileName)
        func target(_ token: String) async throws -> ProxyConfiguration.Target {
            try await store.target(forToken: token, on: loop).get()
        }
        #expect(try await target("alpha") == .hostPort(host: "10.0.0.1", port: 5901))
        #expect(try await target("beta") == .hostPort(host: "10.0.0.2", port: 5902))
        #expect(try await target("v6") == .hostPort(host: "::1", port: 5903))
        #expect(try await target("v6b") == .hostPort(host: "fe80::1", port: 5904))
        #expect(try await target("sock") == .unixSocket(path: "/run/vm.sock"))
        for token in ["broken", "two", "huge"] {
            let refused = try #require(await refusal(store.target(forToken: token, on: loop)), "\(token)")
            #expect(refused.status == .badGateway && refused.logMessage.contains("'\(token)'"), "\(refused)")
        }
        for token in ["nosuch", "adir", "../outside", "..", "sub/alpha", "alpha\u{0}"] {
            let refused = try #require(await refusal(store.target(forToken: token, on: loop)), "\(token)")
            #expect(refused.status == .notFound, "\(token): \(refused)")
        }
        #expect(await refusal(store.target(forToken: "../outside", on: loop))?.logMessage.contains("the token contains '/'") == true)
        // A new file counts at once, and a removed one is gone at once.
        try write("gamma", "10.0.0.3:5905")
        #expect(try await target("gamma") == .hostPort(host: "10.0.0.3", port: 5905))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("alpha"))
        #expect(await refusal(store.target(forToken: "alpha", on: loop))?.status == .notFound)
        // The directory gone: 503, not "unknown token".
        try FileManager.default.removeItem(at: dir)
        #expect(await refusal(store.target(forToken: "beta", on: loop))?.status == .serviceUnavailable)
        // The source must be a directory.
        #expect(throws: ProxyError.self) { try DirectoryTokenStore(directory: root.appendingPathComponent("outside").path, kind: .fileName) }
        #expect(throws: ProxyError.self) { try DirectoryTokenStore(directory: dir.path, kind: .fileName) }
    }

    @Test("UnixDomainSocketDirectory: the token names a listening socket in the directory (or a subdirectory), nothing else")
    func unixSockets() async throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("s")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        var listeners: [any Channel] = []
        for path in [dir.appendingPathComponent("vm1").path, dir.appendingPathComponent("sub/vm2").path, root.appendingPathComponent("out").path] {
            listeners.append(try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(unixDomainSocketPath: path).get())
        }
        defer { for listener in listeners { listener.close(promise: nil) } }
        try "x".write(to: dir.appendingPathComponent("file"), atomically: false, encoding: .utf8)
        let store = try DirectoryTokenStore(directory: dir.path, kind: .unixSockets)
        #expect(try await store.target(forToken: "vm1", on: loop).get() == .unixSocket(path: dir.path + "/vm1"))
        #expect(try await store.target(forToken: "sub/vm2", on: loop).get() == .unixSocket(path: dir.path + "/sub/vm2"))
        for token in ["nosuch", "file", "sub", "../out", "sub/../../out", "/" + root.path + "/out", "..", ""] {
            let refused = try #require(await refusal(store.target(forToken: token, on: loop)), "\(token)")
            #expect(refused.status == .notFound, "\(token): \(refused)")
        }
        #expect(await refusal(store.target(forToken: "file", on: loop))?.logMessage.contains("is not a socket") == true)
        // A path longer than sun_path holds: the socket can't be reached; 502 says why.
        let long = String(repeating: "l", count: 100)
        listeners.append(try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(unixDomainSocketPath: "/tmp/short-\(UUID().uuidString)").get())
        let deep = dir.appendingPathComponent(long)
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        let sockPath = try #require(listeners.last?.localAddress?.pathname)
        defer { try? FileManager.default.removeItem(atPath: sockPath) }
        try FileManager.default.createSymbolicLink(atPath: deep.path + "/vm", withDestinationPath: sockPath)
        #expect(await refusal(store.target(forToken: long + "/vm", on: loop))?.status == .badGateway)
        #expect(throws: ProxyError.self) { try DirectoryTokenStore(directory: dir.appendingPathComponent("file").path, kind: .unixSockets) }
    }
}
