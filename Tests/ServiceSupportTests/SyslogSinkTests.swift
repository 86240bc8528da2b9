import Foundation
import Glibc
import NIOConcurrencyHelpers
import Testing

@testable import ServiceSupport

/// The syslog sink against real receivers on loopback that are not there yet when the first lines
/// are logged, go away, or come late: every line must arrive, in order, or be counted.
@Suite("Syslog sink: lines logged before the server is ready are queued and delivered")
struct SyslogSinkTests {
    let formatter = SyslogFormatter(style: .rfc5424, facility: .user, hostname: "h", processID: 7)

    /// A sink to a TCP server on `port`, and what it reports.
    func tcpSink(
        port: Int, capacity: Int = SyslogLogHandler.Sink.defaultCapacity
    ) throws -> (SyslogLogHandler.Sink, NIOLockedValueBox<[String]>) {
        let reports = NIOLockedValueBox<[String]>([])
        let sink = try SyslogLogHandler.Sink(
            destination: .tcp(host: "127.0.0.1", port: port), formatter: formatter, capacity: capacity
        ) { text in reports.withLockedValue { $0.append(text) } }
        return (sink, reports)
    }

    @Test("UDP: lines sent while nothing listens on the port arrive once it does")
    func udpLateSyslogReceiver() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_DGRAM)
        let sink = try SyslogLogHandler.Sink(destination: .udp(host: "127.0.0.1", port: port), formatter: formatter)
        for n in 0..<5 { sink.send("early \(n)", severity: .informational) }
        Thread.sleep(forTimeInterval: 0.1)
        let receiver = try SyslogReceiver(udpPort: port)
        sink.send("late", severity: .informational)
        let got = try receiver.messages(count: 6)
        #expect(got.map(\.text) == ["early 0", "early 1", "early 2", "early 3", "early 4", "late"])
        #expect(sink.finish(timeout: 2) == 0)
    }

    @Test("a local datagram socket: lines logged while its daemon restarts arrive once it is back")
    func unixDaemonRestart() throws {
        let path = NSTemporaryDirectory() + "syslog-sink-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(path) }
        var receiver: SyslogReceiver? = try SyslogReceiver(unixPath: path)
        let sink = try SyslogLogHandler.Sink(destination: .unixSocket(path: path), formatter: formatter)
        sink.send("before", severity: .informational)
        #expect(try receiver?.messages(count: 1).map(\.text) == ["before"])
        receiver = nil  // the daemon stops: its socket is closed and removed
        for n in 0..<3 { sink.send("while away \(n)", severity: .warning) }
        Thread.sleep(forTimeInterval: 0.2)
        receiver = try SyslogReceiver(unixPath: path)
        let got = try #require(receiver).messages(count: 3)
        #expect(got.map(\.text) == ["while away 0", "while away 1", "while away 2"])
        #expect(sink.finish(timeout: 2) == 0)
    }

    @Test("TCP: lines logged before the server accepts arrive in RFC 6587 frames once it does")
    func tcpLateServer() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_STREAM)
        let (sink, reports) = try tcpSink(port: port)
        for n in 0..<4 { sink.send("early \(n)", severity: .informational) }
        Thread.sleep(forTimeInterval: 0.1)
        let receiver = try SyslogReceiver(tcpPort: port)
        let got = try receiver.messages(count: 4)
        #expect(got.map(\.text) == ["early 0", "early 1", "early 2", "early 3"])
        #expect(sink.finish(timeout: 2) == 0)
        let said = reports.withLockedValue { $0 }
        #expect(said.first?.contains("cannot deliver to tcp:127.0.0.1:\(port)") == true, "\(said)")
        #expect(said.contains("syslog: delivering to tcp:127.0.0.1:\(port) again"), "\(said)")
    }

    @Test("RFC 3164 over TCP is framed by line feeds")
    func tcpLegacyFraming() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_STREAM)
        let receiver = try SyslogReceiver(tcpPort: port)
        let legacy = SyslogFormatter(style: .rfc3164, facility: .daemon, hostname: nil, processID: 7)
        let sink = try SyslogLogHandler.Sink(destination: .tcp(host: "127.0.0.1", port: port), formatter: legacy)
        sink.send("one", severity: .informational)
        sink.send("two", severity: .informational)
        #expect(sink.finish(timeout: 2) == 0)
        let bytes = try receiver.streamBytes(atLeast: 2, separator: 0x0A)
        let lines = bytes.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        #expect(
            lines.count == 2 && lines[0].hasSuffix("websockify[7]: one") && lines[1].hasSuffix("websockify[7]: two"))
    }

    @Test("a full backlog drops lines and the server is told how many, in their place")
    func overflowCounted() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_STREAM)
        let (sink, reports) = try tcpSink(port: port, capacity: 3)
        for n in 0..<10 { sink.send("line \(n)", severity: .informational) }
        let receiver = try SyslogReceiver(tcpPort: port)
        var got = try receiver.messages(count: 4).map(\.text)
        // Delivered: there is room again.
        sink.send("after", severity: .informational)
        got += try receiver.messages(count: 1).map(\.text)
        #expect(Array(got.prefix(3)) == ["line 0", "line 1", "line 2"])
        #expect(got[3].hasPrefix("7 log lines were dropped between "), "\(got)")
        #expect(got[3].hasSuffix(": 3 lines were waiting for tcp:127.0.0.1:\(port)"))
        #expect(got[4] == "after")
        sink.finish(timeout: 2)
        let said = reports.withLockedValue { $0 }
        #expect(
            said.contains {
                $0.hasPrefix("syslog: 3 lines are waiting for tcp:127.0.0.1:\(port); further lines are dropped")
            })
        #expect(said.contains("syslog: 7 lines were dropped in all because too many were waiting"), "\(said)")
    }

    @Test("lines that cannot be delivered before exit are counted and reported")
    func undeliveredAtExit() throws {
        let port = try SyslogReceiver.freePort(type: SOCK_STREAM)
        let (sink, reports) = try tcpSink(port: port)
        sink.send("a", severity: .informational)
        sink.send("b", severity: .informational)
        #expect(sink.finish(timeout: 0.3) == 2)
        #expect(
            reports.withLockedValue { $0 }.contains(
                "syslog: 2 lines could not be delivered to tcp:127.0.0.1:\(port) before exit"))
    }

    @Test("destinations: tcp: and udp: prefixes, and what is refused")
    func destinations() throws {
        #expect(
            try SyslogDestination(parsing: "tcp:127.0.0.1:514", workingDirectory: "/w")
                == .tcp(host: "127.0.0.1", port: 514))
        #expect(
            try SyslogDestination(parsing: "tcp:[::1]:6514", workingDirectory: "/w") == .tcp(host: "::1", port: 6514))
        #expect(
            try SyslogDestination(parsing: "udp:localhost:514", workingDirectory: "/w")
                == .udp(host: "localhost", port: 514))
        #expect(SyslogDestination.tcp(host: "::1", port: 6514).displayString == "tcp:[::1]:6514")
        for bad in ["tcp:host", "tcp:host:0", "udp:", "tcp::514"] {
            #expect(throws: (any Error).self, "\(bad)") { try SyslogDestination(parsing: bad, workingDirectory: "/w") }
        }
        #expect(throws: OperationsError.self) {
            try SyslogLogHandler.Sink(destination: .tcp(host: "no-such-host.invalid", port: 514), formatter: formatter)
        }
    }
}
