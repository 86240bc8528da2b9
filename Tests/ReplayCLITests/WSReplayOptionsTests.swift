import ArgumentParser
import Foundation
import RFBRules
import Replay
import TestSupport
import Testing

@testable import ReplayCLI

/// `validate()` checks the options only; the rules file and the web root are looked at when the
/// configuration is built, first thing in `run()`, which reports them as usage errors too.
@Suite("wsreplay: options checked at parse time, files when the configuration is built")
struct WSReplayOptionsTests {
    @Test("a rules file that does not exist yet passes validate(); building the configuration reads it")
    func rulesFileReadWhenBuilt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rules = dir.appendingPathComponent("rules.yaml").path
        let command = try WSReplay.parse(["session.rec", "--port", "0", "--rules", rules])
        #expect(throws: ValidationError.self) { try command.makeConfiguration() }
        try "messages:\n  - {index: 3, rule: allow}\n".write(toFile: rules, atomically: false, encoding: .utf8)
        let configuration = try command.makeConfiguration()
        #expect(configuration.engine.rules.summary == ["client message #3: allow"])
    }

    @Test("a web root that can't be served passes validate(); building the configuration finds it")
    func webRootCheckedWhenBuilt() throws {
        let command = try WSReplay.parse(["session.rec", "--port", "0", "--web", "/nonexistent/web/root"])
        #expect(throws: ValidationError.self) { try command.makeConfiguration() }
    }

    @Test(
        "what the options say alone is still a usage error at parse time",
        arguments: [
            ["--port", "70000"], ["--port", "0", "--speed", "0"], ["--port", "0", "--once", "--loop"],
            ["--port", "0", "--allow", "NotAMessage"], ["--port", "0", "--no-rfb", "--ignore", "KeyEvent"],
            ["--port", "0", "--key", "k.pem"],
        ])
    func parseErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { try WSReplay.parse(["session.rec"] + arguments) }
    }

    @Test("run() reports a rules file that can't be read as a usage error, before it starts anything")
    func runReportsUsageError() async throws {
        let command = try WSReplay.parse(["/nonexistent/session.rec", "--port", "0", "--rules", "/nonexistent/rules.yaml"])
        await #expect(throws: ValidationError.self) { try await command.run() }
    }
}
