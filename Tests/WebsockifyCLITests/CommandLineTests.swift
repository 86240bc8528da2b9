import ArgumentParser
import NIOCore
import Proxy
import RecordFormat
import Testing

@testable import WebsockifyCLI

@Suite("Command line mapping")
struct CommandLineTests {
    @Test("websockify 6080 localhost:5900")
    func basic() throws {
        let c = try configuration(["6080", "localhost:5900"])
        #expect(c.listenHost == nil && c.listenPort == 6080)
        #expect(c.upstream.fixedTarget == .hostPort(host: "localhost", port: 5900))
        #expect(!c.runOnce && c.timeouts.serving == nil && c.timeouts.idle == nil && c.heartbeatInterval == nil)
        #expect(c.sessionTapFactories.isEmpty)
        #expect(c.limits.maxMessageSize == 64 << 20)
    }

    @Test("IPv6 literals in brackets on both sides")
    func ipv6() throws {
        let c = try configuration(["[::1]:6080", "[fe80::1]:5901"])
        #expect(c.listenHost == "::1" && c.listenPort == 6080)
        #expect(c.upstream.fixedTarget == .hostPort(host: "fe80::1", port: 5901))
        #expect(c.upstream.fixedTarget?.sessionTarget == .hostPort("[fe80::1]:5901"))
    }

    @Test("source address with host")
    func sourceHost() throws {
        let c = try configuration(["127.0.0.1:6080", "10.0.0.1:5900", "-6"])
        #expect(c.listenHost == "127.0.0.1" && c.listenPort == 6080 && c.preferIPv6)
    }

    @Test("--unix-target")
    func unixTarget() throws {
        let c = try configuration(["--unix-target=/run/vnc.sock", "6080"])
        #expect(c.upstream.fixedTarget == .unixSocket(path: "/run/vnc.sock"))
        #expect(c.upstream.fixedTarget?.sessionTarget.displayString == "unix:/run/vnc.sock")
    }

    @Test("timers and flags")
    func flags() throws {
        let c = try configuration([
            "--run-once", "--timeout=5", "--idle-timeout", "2.5", "--heartbeat=30", "--traffic", "-v",
            "--log-file=/tmp/x.log", "6080", "h:1",
        ])
        #expect(c.runOnce)
        #expect(c.timeouts.serving == .seconds(5))
        #expect(c.timeouts.idle == .milliseconds(2500))
        #expect(c.heartbeatInterval == .seconds(30))
        #expect(c.sessionTapFactories.count == 1)
        let parsed = try Websockify.parse(["--log-file=/tmp/x.log", "-v", "6080", "h:1"])
        #expect(parsed.logFile == "/tmp/x.log" && parsed.verbose)
    }

    @Test("zero timeouts mean off, as in websockify")
    func zeroIsOff() throws {
        let c = try configuration(["--timeout=0", "--heartbeat=0", "6080", "h:1"])
        #expect(c.timeouts.serving == nil && c.heartbeatInterval == nil)
    }

    @Test(
        "argument errors are rejected",
        arguments: [
            ["6080"], [], ["6080", "localhost"], ["6080", "localhost:notaport"], ["70000", "h:1"],
            ["6080", "h:1", "--unix-target=/x"], ["::1:6080", "h:1"], ["[::1", "h:1"], ["6080", "h:1", "--bogus"],
            ["6080", "h:1", "--timeout=-1"], ["6080", ":5900"],
        ])
    func errors(arguments: [String]) {
        #expect(throws: (any Error).self) { try Websockify.parse(arguments) }
    }
}
