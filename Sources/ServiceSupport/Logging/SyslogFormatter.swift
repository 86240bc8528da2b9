import Logging
import RecordFormat

/// Turns one log message into one syslog datagram: RFC 5424 (the default) or the older RFC 3164
/// (`--legacy-syslog`). Pure: time, host and process come in as values.
public struct SyslogFormatter: Sendable, Equatable {
    /// The two wire formats.
    public enum Style: Sendable, Equatable {
        /// RFC 5424 §6: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG`, UTC with microseconds.
        case rfc5424
        /// RFC 3164 §4.1: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`, local time. Without a host
        /// name (``SyslogFormatter/hostname`` nil) it is what the C library's `syslog(3)` sends to
        /// `/dev/log`, which local daemons read the tag from.
        case rfc3164
    }

    /// RFC 5424 §6.2.1 table 1 (the facilities websockify may use; the code is the raw value).
    public enum Facility: Int, Sendable, Equatable {
        case user = 1
        case daemon = 3
        case local0 = 16
    }

    /// RFC 5424 §6.2.1 table 2.
    public enum Severity: Int, Sendable, Equatable {
        case emergency = 0, alert, critical, error, warning, notice, informational, debug

        /// swift-log's levels; trace and debug are both debug.
        public init(_ level: Logger.Level) {
            switch level {
            case .trace, .debug: self = .debug
            case .info: self = .informational
            case .notice: self = .notice
            case .warning: self = .warning
            case .error: self = .error
            case .critical: self = .critical
            }
        }
    }

    /// A point in time as the formatter needs it.
    public struct Time: Sendable, Equatable {
        /// Seconds since 1970-01-01T00:00:00Z.
        public var seconds: Int64
        /// 0–999,999.
        public var microseconds: Int
        /// Local time minus UTC, in seconds (RFC 3164 timestamps are local).
        public var utcOffset: Int

        public init(seconds: Int64, microseconds: Int = 0, utcOffset: Int = 0) {
            self.seconds = seconds
            self.microseconds = microseconds
            self.utcOffset = utcOffset
        }
    }

    public var style: Style
    public var facility: Facility
    /// The HOSTNAME field; nil sends `-` (RFC 5424) or leaves it out (RFC 3164).
    public var hostname: String?
    /// APP-NAME (RFC 5424) or TAG (RFC 3164).
    public var appName: String
    public var processID: Int32

    public init(style: Style, facility: Facility, hostname: String?, appName: String = "websockify", processID: Int32) {
        self.style = style
        self.facility = facility
        self.hostname = hostname
        self.appName = appName
        self.processID = processID
    }

    /// PRI: facility × 8 + severity (RFC 5424 §6.2.1).
    public func priority(_ severity: Severity) -> Int { facility.rawValue * 8 + severity.rawValue }

    /// The datagram for `message`. Line breaks become spaces, so that one message stays one line
    /// for receivers that split on them.
    public func format(_ message: String, severity: Severity, at time: Time) -> [UInt8] {
        let text = message.replacing("\r\n", with: " ").replacing("\n", with: " ").replacing("\r", with: " ")
        switch style {
        case .rfc5424:
            let header =
                "<\(priority(severity))>1 \(Self.rfc5424Timestamp(time)) \(Self.field(hostname, limit: 255)) \(Self.field(appName, limit: 48)) \(processID) - - "
            // §6.4: MSG is ASCII as is, or UTF-8 introduced by a byte order mark.
            let bom: [UInt8] = text.utf8.allSatisfy { $0 < 0x80 } ? [] : [0xEF, 0xBB, 0xBF]
            return Array(header.utf8) + bom + Array(text.utf8)
        case .rfc3164:
            let host = hostname.map { Self.field($0, limit: 255) + " " } ?? ""
            let tag = Self.field(appName, limit: 32)
            return Array("<\(priority(severity))>\(Self.rfc3164Timestamp(time)) \(host)\(tag)[\(processID)]: \(text)".utf8)
        }
    }

    /// `2026-11-20T09:05:03.000123Z` (RFC 5424 §6.2.3, RFC 3339).
    static func rfc5424Timestamp(_ time: Time) -> String {
        ISODate.string(wallMicros: time.seconds * 1_000_000 + Int64(time.microseconds))
    }

    /// `Nov  5 09:05:03` in local time (RFC 3164 §4.1.2: day padded with a space).
    static func rfc3164Timestamp(_ time: Time) -> String {
        // The local calendar date is the UTC one of the shifted time: `YYYY-MM-DDThh:mm:ss…`.
        let iso = Array(ISODate.string(wallMicros: (time.seconds + Int64(time.utcOffset)) * 1_000_000).utf8)
        let month = Int(String(decoding: iso[5..<7], as: UTF8.self)) ?? 1
        let day = Int(String(decoding: iso[8..<10], as: UTF8.self)) ?? 1
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(months[month - 1]) \(day < 10 ? " " : "")\(day) \(String(decoding: iso[11..<19], as: UTF8.self))"
    }

    /// A header field: printable ASCII without spaces (RFC 5424 §6), at most `limit` bytes, `-` if empty.
    static func field(_ value: String?, limit: Int) -> String {
        let cleaned = String(
            decoding: (value ?? "").utf8.prefix(limit).map { (33...126).contains($0) ? $0 : UInt8(ascii: "_") },
            as: UTF8.self)
        return cleaned.isEmpty ? "-" : cleaned
    }
}
