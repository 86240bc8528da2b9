import ArgumentParser
import Foundation
import Proxy
import ProxyPlugins
import TestSupport
import Testing

@testable import WebsockifyCLI

@Suite("Command line: token and auth plugins")
struct PluginCommandLineTests {
    @Test("--token-plugin/--token-source and --target-config set a resolver and take no target")
    func tokens() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tokens").path
        try "a: h:1\n".write(toFile: file, atomically: false, encoding: .utf8)
        let c = try configuration(["--token-plugin", "TokenFile", "--token-source", file, "--host-token", "6080"])
        let resolver = try #require(c.upstream.resolver as? TokenTargetResolver)
        #expect(resolver.hostToken && resolver.summary.contains("TokenFile \(file)"))
        let alias = try #require(try configuration(["--target-config=\(file)", "6080"]).upstream.resolver)
        #expect(alias.summary.contains("TokenFile \(file)"))
        #expect(try configuration(["6080", "h:1"]).upstream.resolver == nil)
    }

    @Test("--auth-plugin/--auth-source set the authenticator")
    func auth() throws {
        let c = try configuration(["--auth-plugin=ExpectOrigin", "--auth-source=https://a", "6080", "h:1"])
        #expect((c.authenticator as? ExpectOrigin)?.origins == ["https://a"])
        #expect(try configuration(["6080", "h:1"]).authenticator == nil)
    }

    @Test(
        "plugin argument errors are rejected",
        arguments: [
            ["--token-plugin=TokenRedis", "--token-source=r", "6080", "h:1"],
            ["--token-plugin=TokenRedis", "--token-source=r", "--unix-target=/x", "6080"],
            ["--token-source=r", "6080", "h:1"], ["--host-token", "6080", "h:1"],
            ["--target-config=/x", "--token-plugin=TokenRedis", "--token-source=r", "6080"],
            ["--auth-source=u:p", "6080", "h:1"],
        ])
    func errors(arguments: [String]) {
        #expect(throws: (any Error).self) { try Websockify.parse(arguments) }
    }

    @Test(
        "a plugin's name and source are checked when the plugin is made",
        arguments: [
            ["--token-plugin=TokenRedis", "6080"], ["--auth-plugin=Nope", "--auth-source=x", "6080", "h:1"],
            ["--token-plugin=JWTTokenApi", "--token-source=/nonexistent/key.pem", "6080"],
        ])
    func pluginErrors(arguments: [String]) throws {
        let command = try Websockify.parse(arguments)
        #expect(throws: ProxyError.self) { try command.makeConfiguration() }
    }
}
