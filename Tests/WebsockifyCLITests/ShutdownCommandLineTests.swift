import ArgumentParser
import NIOCore
import Proxy
import Testing

@testable import WebsockifyCLI

@Suite("Command line: --lame-duck, --drain-timeout")
struct ShutdownCommandLineTests {
    func timeouts(_ arguments: [String]) throws -> ProxyConfiguration.Timeouts {
        try Websockify.parse(arguments + ["6080", "h:1"]).makeConfiguration().timeouts
    }

    @Test("with --health-path the lame duck is 2 s unless told; without, there is none; no drain by default")
    func defaults() throws {
        #expect(try timeouts(["--health-path=/healthz"]).lameDuck == .seconds(2))
        #expect(try timeouts([]).lameDuck == .zero)
        #expect(try timeouts([]).drain == .zero)
        #expect(try timeouts(["--health-path=/healthz", "--lame-duck=0.5"]).lameDuck == .milliseconds(500))
        #expect(try timeouts(["--health-path=/healthz", "--lame-duck=0"]).lameDuck == .zero)
        #expect(try timeouts(["--drain-timeout=60"]).drain == .seconds(60))
        // Zero without a health path is allowed: it asks for what happens anyway.
        #expect(try timeouts(["--lame-duck=0"]).lameDuck == .zero)
    }

    @Test(
        "negative, huge or not-a-number seconds (every time option), and a lame duck without a health path, are usage errors",
        arguments: [
            (["--lame-duck=-1", "--health-path=/h"], "--lame-duck=-1.0: must be a number of seconds from 0 to 1000000000"),
            (["--drain-timeout=nan"], "--drain-timeout=nan: must be a number of seconds from 0 to 1000000000"),
            // Beyond what Int64 nanoseconds hold: these trapped at start (review #16).
            (["--drain-timeout=1e20"], "--drain-timeout=1e+20: must be a number of seconds from 0 to 1000000000"),
            (["--lame-duck=1e10", "--health-path=/h"], "--lame-duck=10000000000.0: must be a number of seconds"),
            (["--drain-timeout=inf"], "--drain-timeout=inf: must be a number of seconds"),
            (["--idle-timeout=1e20"], "--idle-timeout=1e+20: must be a number of seconds from 0 to 1000000000"),
            (["--timeout=1e10"], "--timeout=10000000000.0: must be a number of seconds"),
            (["--heartbeat=-inf"], "--heartbeat=-inf: must be a number of seconds"),
            (["--lame-duck=3"], "--lame-duck=3.0: needs --health-path"),
        ])
    func invalid(arguments: [String], message: String) {
        #expect {
            try Websockify.parse(arguments + ["6080", "h:1"])
        } throws: { error in
            "\(Websockify.message(for: error))".contains(message)
        }
    }
}
