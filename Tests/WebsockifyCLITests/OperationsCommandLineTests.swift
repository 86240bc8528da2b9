import ArgumentParser
import Proxy
import ServiceSupport
import Testing

@testable import WebsockifyCLI

@Suite("Command line: daemon, wrapping, inetd, unix-listen, syslog")
struct OperationsCommandLineTests {
    func parse(_ arguments: [String]) throws -> Websockify { try Websockify.parse(arguments) }

    @Test("-- PROGRAM: the program and its arguments, no target; the target is a loopback port")
    func wrap() throws {
        let command = try parse(["--wrap-mode=respawn", "5901", "--", "Xvnc", ":1", "-rfbport", "5901", "--", "x"])
        #expect(command.wrapCommand == ["Xvnc", ":1", "-rfbport", "5901", "--", "x"])
        #expect(try command.wrapModeValue() == .respawn)
        let configuration = try command.makeConfiguration()
        #expect(configuration.listenPort == 5901)
        guard case .hostPort(let host, let port) = configuration.upstream.fixedTarget else {
            Issue.record("target \(String(describing: configuration.upstream.fixedTarget))")
            return
        }
        #expect(host == "127.0.0.1" && port > 0 && port != 5901)
        #expect(try parse(["5901", "--", "prog"]).wrapModeValue() == .exit)
    }

    @Test(
        "wrapping errors",
        arguments: [
            ["5901", "localhost:5900", "--", "prog"],  // a target as well
            ["--unix-target=/x", "5901", "--", "prog"],
            ["0", "--", "prog"],  // the program's port must be known
            ["--inetd", "--", "prog"],
            ["--unix-listen=/tmp/s", "--", "prog"],
            ["--wrap-mode=sometimes", "5901", "--", "prog"],
        ])
    func wrapErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { try Websockify.parse(arguments) }
    }

    @Test("--inetd: the only positional is the target; the listener is descriptor 0")
    func inetd() throws {
        let configuration = try parse(["--inetd", "localhost:5900"]).makeConfiguration()
        #expect(configuration.listener == .inherited(descriptor: 0))
        #expect(configuration.upstream.fixedTarget == .hostPort(host: "localhost", port: 5900))
        let unix = try parse(["--inetd", "--unix-target=/run/vnc.sock"]).makeConfiguration()
        #expect(unix.upstream.fixedTarget == .unixSocket(path: "/run/vnc.sock"))
    }

    @Test("--unix-listen with --unix-listen-mode in octal (default 0600)")
    func unixListen() throws {
        let standard = try parse(["--unix-listen=/run/ws.sock", "h:5900"]).makeConfiguration()
        #expect(standard.listener == .unixSocket(path: "/run/ws.sock", mode: 0o600))
        #expect(standard.upstream.fixedTarget == .hostPort(host: "h", port: 5900))
        for (text, mode) in [("0660", 0o660), ("777", 0o777), ("0o640", 0o640)] as [(String, UInt32)] {
            let configuration = try parse(["--unix-listen=/s", "--unix-listen-mode", text, "h:1"]).makeConfiguration()
            #expect(configuration.listener == .unixSocket(path: "/s", mode: mode), "\(text)")
        }
        let relative = try parse(["--unix-listen=ws.sock", "h:1"]).makeConfiguration()
        guard case .unixSocket(let path, _) = relative.listener else { return }
        #expect(path.hasPrefix("/") && path.hasSuffix("/ws.sock"))
    }

    @Test(
        "listener errors",
        arguments: [
            ["--inetd", "--unix-listen=/s", "h:1"],
            ["--inetd", "6080", "h:1"],  // with --inetd the listen address is not given
            ["--unix-listen=/s", "6080", "h:1"],
            ["--unix-listen=/s", "--unix-listen-mode=999", "h:1"],
            ["--unix-listen=/s", "--unix-listen-mode=rw", "h:1"],
            ["--unix-listen=/s", "--unix-listen-mode=17777", "h:1"],
            ["--inetd"],
        ])
    func listenerErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { try Websockify.parse(arguments) }
    }

    @Test("-D, --syslog, --legacy-syslog")
    func daemonAndSyslog() throws {
        let command = try parse(["-D", "--syslog=127.0.0.1:514", "--legacy-syslog", "6080", "h:1"])
        #expect(command.daemon && command.legacySyslog)
        #expect(try command.syslogDestination() == .udp(host: "127.0.0.1", port: 514))
        #expect(try parse(["--daemon", "6080", "h:1"]).daemon)
        #expect(try parse(["6080", "h:1"]).syslogDestination() == nil)
        #expect(throws: (any Error).self) { try Websockify.parse(["--legacy-syslog", "6080", "h:1"]) }
        #expect(throws: (any Error).self) { try Websockify.parse(["--syslog=h:x", "6080", "h:1"]) }
    }

    @Test("options that do nothing where given are warned about, as websockify 0.13 accepts them")
    func warnings() throws {
        #expect(try parse(["--wrap-mode=ignore", "--unix-listen-mode=0644", "6080", "h:1"]).operationsWarnings().count == 2)
        #expect(try parse(["--wrap-mode=ignore", "6080", "--", "p"]).operationsWarnings().isEmpty)
    }
}
