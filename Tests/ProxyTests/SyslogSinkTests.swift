import Foundation
import Glibc
import NIOConcurrencyHelpers
import Testing

@testable import Proxy

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
    func udpLateReceiver() throws {
        let port = try Receiver.freePort(type: SOCK_DGRAM)
        let sink = try SyslogLogHandler.Sink(destination: .udp(host: "127.0.0.1", port: port), formatter: formatter)
        for n in 0..<5 { sink.send("early \(n)", severity: .informational) }
        Thread.sleep(forTimeInterval: 0.1)
        let receiver = try Receiver(udpPort: port)
        sink.send("late", severity: .informational)
        let got = try receiver.messages(count: 6)
        #expect(got.map(\.text) == ["early 0", "early 1", "early 2", "early 3", "early 4", "late"])
        #expect(sink.finish(timeout: 2) == 0)
    }

    @Test("a local datagram socket: lines logged while its daemon restarts arrive once it is back")
    func unixDaemonRestart() throws {
        let path = NSTemporaryDirectory() + "syslog-sink-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(path) }
        var receiver: Receiver? = try Receiver(unixPath: path)
        let sink = try SyslogLogHandler.Sink(destination: .unixSocket(path: path), formatter: formatter)
        sink.send("before", severity: .informational)
        #expect(try receiver?.messages(count: 1).map(\.text) == ["before"])
        receiver = nil  // the daemon stops: its socket is closed and removed
        for n in 0..<3 { sink.send("while away \(n)", severity: .warning) }
        Thread.sleep(forTimeInterval: 0.2)
        receiver = try Receiver(unixPath: path)
        let got = try #require(receiver).messages(count: 3)
        #expect(got.map(\.text) == ["while away 0", "while away 1", "while away 2"])
        #expect(sink.finish(timeout: 2) == 0)
    }

    @Test("TCP: lines logged before the server accepts arrive in RFC 6587 frames once it does")
    func tcpLateServer() throws {
        let port = try Receiver.freePort(type: SOCK_STREAM)
        let (sink, reports) = try tcpSink(port: port)
        for n in 0..<4 { sink.send("early \(n)", severity: .informational) }
        Thread.sleep(forTimeInterval: 0.1)
        let receiver = try Receiver(tcpPort: port)
        let got = try receiver.messages(count: 4)
        #expect(got.map(\.text) == ["early 0", "early 1", "early 2", "early 3"])
        #expect(sink.finish(timeout: 2) == 0)
        let said = reports.withLockedValue { $0 }
        #expect(said.first?.contains("cannot deliver to tcp:127.0.0.1:\(port)") == true, "\(said)")
        #expect(said.contains("syslog: delivering to tcp:127.0.0.1:\(port) again"), "\(said)")
    }

    @Test("RFC 3164 over TCP is framed by line feeds")
    func tcpLegacyFraming() throws {
        let port = try Receiver.freePort(type: SOCK_STREAM)
        let receiver = try Receiver(tcpPort: port)
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
        let port = try Receiver.freePort(type: SOCK_STREAM)
        let (sink, reports) = try tcpSink(port: port, capacity: 3)
        for n in 0..<10 { sink.send("line \(n)", severity: .informational) }
        let receiver = try Receiver(tcpPort: port)
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
        let port = try Receiver.freePort(type: SOCK_STREAM)
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

/// A syslog receiver on loopback: UDP, a unix datagram socket, or a TCP server reading
/// octet-counted frames from the first connection.
private final class Receiver {
    private let fd: Int32
    private let stream: Bool
    private var connection: Int32 = -1
    private var pending: [UInt8] = []

    init(udpPort port: Int) throws {
        fd = try Self.bound(type: SOCK_DGRAM, port: port)
        stream = false
    }

    init(tcpPort port: Int) throws {
        fd = try Self.bound(type: SOCK_STREAM, port: port)
        stream = true
        try #require(listen(fd, 8) == 0)
    }

    init(unixPath path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        stream = false
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        unlink(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(result == 0)
        self.path = path
    }

    private var path: String?

    deinit {
        if connection >= 0 { close(connection) }
        close(fd)
        if let path { unlink(path) }
    }

    /// A port that nothing listens on (bound once, then closed).
    static func freePort(type: __socket_type) throws -> Int {
        let fd = try bound(type: type, port: 0)
        defer { close(fd) }
        // sockaddr_in: family (2 bytes), then the port in network byte order.
        var address = [UInt8](repeating: 0, count: 128)
        var length = socklen_t(address.count)
        let result = address.withUnsafeMutableBytes {
            getsockname(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        try #require(result == 0)
        return Int(address[2]) << 8 | Int(address[3])
    }

    private static func bound(type: __socket_type, port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let (_, address) = try SyslogConnection.resolve(host: "127.0.0.1", port: port, type: type)
        let result = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        try #require(result == 0, "bind 127.0.0.1:\(port): errno \(errno)")
        return fd
    }

    struct Message {
        var raw: [UInt8]
        /// The MSG part of an RFC 5424 message (after `- - `).
        var text: String {
            let string = String(decoding: raw, as: UTF8.self)
            return string.range(of: " - - ").map { String(string[$0.upperBound...]) } ?? string
        }
    }

    /// Waits (up to 10 s) for `count` messages.
    func messages(count: Int) throws -> [Message] {
        var out: [Message] = []
        let deadline = Date(timeIntervalSinceNow: 10)
        while out.count < count {
            try #require(Date() < deadline, "only \(out.count) of \(count) syslog messages arrived: \(out.map(\.text))")
            if stream {
                while let frame = takeFrame() { out.append(Message(raw: frame)) }
                if out.count < count { try readStream() }
            } else if let datagram = try readDatagram() {
                out.append(Message(raw: datagram))
            }
        }
        return out
    }

    /// TCP: reads until `separator` was seen `atLeast` times.
    func streamBytes(atLeast: Int, separator: UInt8) throws -> [UInt8] {
        let deadline = Date(timeIntervalSinceNow: 10)
        while pending.filter({ $0 == separator }).count < atLeast {
            try #require(Date() < deadline, "timed out reading the TCP stream")
            try readStream()
        }
        return pending
    }

    private func wait(_ descriptor: Int32) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 100) == 1
    }

    private func readDatagram() throws -> [UInt8]? {
        guard wait(fd) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        try #require(n >= 0)
        return Array(buffer[0..<n])
    }

    private func readStream() throws {
        if connection < 0 {
            guard wait(fd) else { return }
            connection = accept(fd, nil, nil)
            try #require(connection >= 0)
        }
        guard wait(connection) else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        try #require(n > 0, "the syslog sender closed the connection")
        pending += buffer[0..<n]
    }

    /// One RFC 6587 octet-counted frame (`LEN SP MSG`) from what was read, if complete.
    private func takeFrame() -> [UInt8]? {
        guard let space = pending.firstIndex(of: 0x20),
            let length = Int(String(decoding: pending[..<space], as: UTF8.self)),
            pending.count >= space + 1 + length
        else { return nil }
        let frame = Array(pending[(space + 1)..<(space + 1 + length)])
        pending.removeFirst(space + 1 + length)
        return frame
    }
}
