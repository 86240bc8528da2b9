import ArgumentParser
import Foundation
import Proxy
import StaticWeb
import Testing

@testable import WebsockifyCLI

@Suite("Command line: --web, --file-only, --web-auth")
struct WebCommandLineTests {
    @Test("--web=DIR serves DIR (listings unless --file-only); without it there is no web server")
    func web() throws {
        let dir = FileManager.default.temporaryDirectory.path
        let plain = try Websockify.parse(["6080", "h:1"]).makeConfiguration()
        #expect(plain.webResponder == nil && !plain.authenticateWebRequests)
        for (extra, fileOnly) in [([String](), false), (["--file-only"], true)] {
            let c = try Websockify.parse(["--web=\(dir)"] + extra + ["6080", "h:1"]).makeConfiguration()
            let server = try #require(c.webResponder as? StaticFileServer)
            #expect(server.configuration.root == dir)
            #expect(server.configuration.fileOnly == fileOnly)
            #expect(server.resolver.root == (try WebPathResolver(configuration: WebConfiguration(root: dir))).root)
            #expect(!c.authenticateWebRequests)
        }
        // As in websockify 0.13, --file-only alone changes nothing.
        #expect(try Websockify.parse(["--file-only", "6080", "h:1"]).makeConfiguration().webResponder == nil)
    }

    @Test(
        "--web-auth without --web or an auth plugin is a usage error",
        arguments: [["--web-auth"], ["--web=/tmp", "--web-auth"]])
    func errors(arguments: [String]) {
        #expect(throws: (any Error).self) { try Websockify.parse(arguments + ["6080", "h:1"]) }
    }

    @Test("a missing or non-directory root is found when the configuration is built", arguments: ["/nonexistent/web/root", "/etc/passwd"])
    func rootErrors(root: String) throws {
        let command = try Websockify.parse(["--web=\(root)", "6080", "h:1"])
        #expect(throws: ProxyError.self) { try command.makeConfiguration() }
    }
}
