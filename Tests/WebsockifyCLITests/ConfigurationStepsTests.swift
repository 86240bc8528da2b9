import ArgumentParser
import Foundation
import Proxy
import TestSupport
import Testing

@testable import WebsockifyCLI

/// `validate()` checks the options only; the configuration, plugins and files included, is built once, by
/// `run()`, which reports what it finds as usage errors too.
@Suite("websockify: options checked at parse time, files when the configuration is built")
struct ConfigurationStepsTests {
    @Test("a token file that does not exist yet passes validate(); building the configuration reads it")
    func tokenFileReadWhenBuilt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tokens").path
        let command = try Websockify.parse(["--token-plugin=TokenFile", "--token-source=\(file)", "6080"])
        #expect(throws: ProxyError.self) { try command.makeConfiguration() }
        try "desk: h:5900\n".write(toFile: file, atomically: false, encoding: .utf8)
        let configuration = try command.makeConfiguration()
        guard case .resolver(let resolver) = configuration.upstream else {
            Issue.record("upstream \(configuration.upstream.summary)")
            return
        }
        #expect(resolver.summary.contains(file))
    }

    @Test("run() reports a configuration that can't be built as a usage error (exit status 2), before it starts anything")
    func runReportsUsageError() async throws {
        let command = try Websockify.parse(["--web=/nonexistent/web/root", "127.0.0.1:0", "h:1"])
        await #expect(throws: ValidationError.self) { try await command.run() }
    }
}
