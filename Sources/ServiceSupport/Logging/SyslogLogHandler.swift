import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A swift-log handler sending each message to syslog (`--syslog`), formatted by
/// ``SyslogFormatter``: one datagram to a local socket or a UDP server, one frame on a TCP connection.
public struct SyslogLogHandler: LogHandler {
    /// Where the messages go, shared by every logger.
    ///
    /// Logging never waits for the server: a message is queued and a thread of its own delivers it
    /// (``SyslogDelivery``), in order, to a server that may not be reachable yet, may restart or
    /// be slow. Up to ``capacity`` lines wait; beyond that lines are dropped and the server gets a
    /// line saying how many. ``finish(timeout:)`` delivers what is left before the process exits.
    public final class Sink: Sendable {
        public let destination: SyslogDestination
        public let formatter: SyslogFormatter
        /// The most lines kept waiting for the server.
        public let capacity: Int
        private let delivery: SyslogDelivery

        /// 10,000 lines: minutes of a busy proxy's log, about 2 MB.
        public static let defaultCapacity = 10_000

        /// Checks the destination and starts delivering; throws an ``OperationsError`` saying why
        /// it cannot be used. A local socket must be there and a UDP server's name resolve at
        /// start; a TCP server's name must resolve, and the connection is made (and made again)
        /// by the delivery thread, so a server that comes up later gets every line.
        /// `report` is told (from any thread) what the log file or terminal should know: the
        /// server out of reach or back, lines dropped, lines left at exit.
        public init(
            destination: SyslogDestination, formatter: SyslogFormatter, capacity: Int = defaultCapacity,
            report: @escaping @Sendable (String) -> Void = { _ in }
        ) throws {
            self.destination = destination
            self.formatter = formatter
            self.capacity = max(1, capacity)
            let connection = SyslogConnection(destination: destination, octetCounting: formatter.style == .rfc5424)
            switch destination {
            case .unixSocket, .udp:
                try connection.connect()
            case .tcp(let host, let port):
                _ = try SyslogConnection.resolve(host: host, port: port, type: SOCK_STREAM)
            }
            self.delivery = SyslogDelivery(
                connection: connection, formatter: formatter, capacity: self.capacity, report: report)
        }

        /// Formats one message now and queues it.
        public func send(_ message: String, severity: SyslogFormatter.Severity) {
            let time = SyslogFormatter.Time.now()
            delivery.enqueue(
                formatter.format(message, severity: severity, at: time),
                at: time.seconds * 1_000_000 + Int64(time.microseconds))
        }

        /// Waits up to `timeout` seconds until every queued line is delivered, then stops
        /// delivering; returns the number of lines left undelivered (also reported).
        @discardableResult
        public func finish(timeout: Double = 2) -> Int { delivery.finish(timeout: timeout) }
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let sink: Sink

    public init(label: String, sink: Sink) {
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let extra = metadataPairs(of: event).map { $0 + " " }.joined()
        sink.send("\(extra)\(event.message)", severity: SyslogFormatter.Severity(event.level))
    }
}

extension SyslogFormatter.Time {
    /// The wall-clock time now, with the local UTC offset.
    static func now() -> Self {
        let date = Date()
        let now = date.timeIntervalSince1970
        let seconds = now.rounded(.down)
        return Self(
            seconds: Int64(seconds), microseconds: min(999_999, Int((now - seconds) * 1e6)),
            utcOffset: TimeZone.current.secondsFromGMT(for: date))
    }
}
