import Logging
import ServiceSupport
import Testing

@Suite("Syslog formatting (RFC 5424, RFC 3164)")
struct SyslogFormatterTests {
    // 2026-11-05T09:05:03.000042Z
    let time = SyslogFormatter.Time(seconds: 1_793_869_503, microseconds: 42, utcOffset: 3600)

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("RFC 5424: PRI, version, UTC timestamp with microseconds, host, app, pid, no MSGID or SD")
    func rfc5424() {
        let formatter = SyslogFormatter(style: .rfc5424, facility: .user, hostname: "box", processID: 4242)
        let line = text(formatter.format("listening on 127.0.0.1:6080", severity: .informational, at: time))
        #expect(line == "<14>1 2026-11-05T09:05:03.000042Z box websockify 4242 - - listening on 127.0.0.1:6080")
    }

    @Test("RFC 3164: local time, day padded with a space, host, tag[pid]")
    func rfc3164() {
        let formatter = SyslogFormatter(style: .rfc3164, facility: .daemon, hostname: "box", processID: 7)
        let line = text(formatter.format("stopped", severity: .warning, at: time))
        // +1 h local offset; daemon (3) × 8 + warning (4) = 28.
        #expect(line == "<28>Nov  5 10:05:03 box websockify[7]: stopped")
    }

    @Test("RFC 3164 without a host name, as syslog(3) sends to /dev/log")
    func rfc3164Local() {
        let formatter = SyslogFormatter(style: .rfc3164, facility: .user, hostname: nil, processID: 7)
        #expect(text(formatter.format("x", severity: .error, at: time)) == "<11>Nov  5 10:05:03 websockify[7]: x")
    }

    @Test("priority = facility × 8 + severity, for every swift-log level")
    func priorities() {
        let formatter = SyslogFormatter(style: .rfc5424, facility: .daemon, hostname: nil, processID: 1)
        let expected: [(Logger.Level, Int)] = [
            (.trace, 31), (.debug, 31), (.info, 30), (.notice, 29), (.warning, 28), (.error, 27), (.critical, 26),
        ]
        for (level, priority) in expected {
            #expect(formatter.priority(SyslogFormatter.Severity(level)) == priority, "\(level)")
        }
    }

    @Test("non-ASCII text gets a UTF-8 BOM in RFC 5424 (§6.4); line breaks become spaces; nil host is '-'")
    func messageRules() {
        let formatter = SyslogFormatter(style: .rfc5424, facility: .user, hostname: nil, processID: 1)
        let bytes = formatter.format("café\nline2", severity: .notice, at: time)
        let header = Array("<13>1 2026-11-05T09:05:03.000042Z - websockify 1 - - ".utf8)
        #expect(Array(bytes.prefix(header.count)) == header)
        #expect(Array(bytes.dropFirst(header.count)) == [0xEF, 0xBB, 0xBF] + Array("café line2".utf8))
        let ascii = formatter.format("plain\r\ntext", severity: .notice, at: time)
        #expect(text(ascii).hasSuffix("- - plain text"))
    }

    @Test("header fields: spaces and control characters replaced, host cut at 255 bytes")
    func fields() {
        let formatter = SyslogFormatter(
            style: .rfc5424, facility: .user, hostname: "my host" + String(repeating: "h", count: 300), processID: 1)
        let line = text(formatter.format("m", severity: .debug, at: time))
        let host = line.split(separator: " ").dropFirst(2).first ?? ""
        #expect(host.hasPrefix("my_host") && host.utf8.count == 255, "\(line)")
    }

    @Test("timestamps across the calendar: epoch, leap day, before 1970, month boundaries")
    func calendar() {
        let formatter = SyslogFormatter(style: .rfc5424, facility: .user, hostname: "h", processID: 1)
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, "2000-02-29T00:00:00.000000Z"),
            (-1, "1969-12-31T23:59:59.000000Z"),
            (1_709_251_199, "2024-02-29T23:59:59.000000Z"),
            (4_102_444_800, "2100-01-01T00:00:00.000000Z"),
        ]
        for (seconds, expected) in cases {
            let line = text(formatter.format("m", severity: .debug, at: .init(seconds: seconds)))
            #expect(line.split(separator: " ").dropFirst().first == Substring(expected), "\(seconds)")
        }
    }

    @Test("--syslog parsing: host:port is UDP, anything else a socket path made absolute")
    func destinations() throws {
        #expect(try SyslogDestination(parsing: "127.0.0.1:514", workingDirectory: "/w") == .udp(host: "127.0.0.1", port: 514))
        #expect(try SyslogDestination(parsing: "[::1]:5514", workingDirectory: "/w") == .udp(host: "::1", port: 5514))
        #expect(try SyslogDestination(parsing: "/dev/log", workingDirectory: "/w") == .unixSocket(path: "/dev/log"))
        #expect(try SyslogDestination(parsing: "run/log.sock", workingDirectory: "/w") == .unixSocket(path: "/w/run/log.sock"))
        for bad in ["host:notaport", "host:0", "", "::1:514"] {
            #expect(throws: (any Error).self, "\(bad)") { try SyslogDestination(parsing: bad, workingDirectory: "/w") }
        }
    }
}
