import ArgumentParser
import Proxy
import Testing

@testable import WebsockifyCLI

@Suite("Command line: --health-path")
struct HealthCommandLineTests {
    @Test("--health-path=PATH sets the health check; off by default")
    func healthPath() throws {
        #expect(try Websockify.parse(["6080", "h:1"]).makeConfiguration().healthCheck == nil)
        let configuration = try Websockify.parse(["--health-path=/healthz", "6080", "h:1"]).makeConfiguration()
        #expect(configuration.healthCheck == (try HealthCheck(path: "/healthz")))
    }

    @Test("a path that can't be requested is a usage error", arguments: ["healthz", "/healthz?x", "/a b"])
    func invalid(path: String) {
        #expect {
            try Websockify.parse(["--health-path=\(path)", "6080", "h:1"])
        } throws: { error in
            "\(Websockify.message(for: error))".contains("--health-path=\(path):")
        }
    }
}
