import Foundation
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A swift-log handler sending each message to syslog (`--syslog`) as one datagram, formatted by
/// ``SyslogFormatter``.
public struct SyslogLogHandler: LogHandler {
    /// The socket to the syslog server, shared by every logger.
    ///
    /// Sends never block: a syslog daemon that cannot keep up loses messages rather than stalling
    /// the event loops that log. A local socket whose daemon restarted is reconnected once per message.
    public final class Sink: Sendable {
        public let destination: SyslogDestination
        public let formatter: SyslogFormatter
        private let socket: NIOLockedValueBox<Int32>

        /// Opens the socket; throws an ``OperationsError`` saying why the server cannot be reached.
        public init(destination: SyslogDestination, formatter: SyslogFormatter) throws {
            self.destination = destination
            self.formatter = formatter
            self.socket = NIOLockedValueBox(try Self.connect(destination))
        }

        deinit { socket.withLockedValue { if $0 >= 0 { close($0) } } }

        /// Formats and sends one message; failures are dropped (logging must not fail the proxy).
        public func send(_ message: String, severity: SyslogFormatter.Severity) {
            let date = Date()
            let now = date.timeIntervalSince1970
            let seconds = now.rounded(.down)
            let time = SyslogFormatter.Time(
                seconds: Int64(seconds), microseconds: min(999_999, Int((now - seconds) * 1e6)),
                utcOffset: TimeZone.current.secondsFromGMT(for: date))
            let datagram = formatter.format(message, severity: severity, at: time)
            socket.withLockedValue { fd in
                if fd >= 0, Self.transmit(datagram, on: fd) { return }
                guard case .unixSocket = destination else { return }
                if fd >= 0 { close(fd) }
                fd = (try? Self.connect(destination)) ?? -1
                if fd >= 0 { _ = Self.transmit(datagram, on: fd) }
            }
        }

        private static func transmit(_ datagram: [UInt8], on fd: Int32) -> Bool {
            datagram.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) } >= 0
                || errno == EAGAIN
        }

        static func connect(_ destination: SyslogDestination) throws -> Int32 {
            switch destination {
            case .unixSocket(let path):
                var address = sockaddr_un()
                address.sun_family = sa_family_t(AF_UNIX)
                let bytes = Array(path.utf8)
                let capacity = MemoryLayout.size(ofValue: address.sun_path)
                guard bytes.count < capacity else {
                    throw OperationsError.syslog("--syslog=\(path): a socket path is at most \(capacity - 1) bytes")
                }
                withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
                let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0 else { throw OperationsError.syslog("cannot open a socket for syslog: \(OperationsError.text(ofErrno: errno))") }
                let result = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
                guard result == 0 else {
                    let number = errno
                    close(fd)
                    let hint =
                        switch number {
                        case ENOENT: "is a syslog daemon running? (or give a UDP server as --syslog=HOST:PORT)"
                        case EPROTOTYPE: "it is a stream socket; websockify sends datagrams, as to /dev/log"
                        case ECONNREFUSED: "nothing reads that socket; is the syslog daemon running?"
                        default: "check the path and its permissions"
                        }
                    throw OperationsError.syslog(
                        "cannot reach syslog at \(path): \(OperationsError.text(ofErrno: number)); \(hint)")
                }
                return fd
            case .udp(let host, let port):
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, String(port), &hints, &result)
                guard status == 0, let first = result else {
                    throw OperationsError.syslog(
                        "cannot resolve syslog server \(host): \(String(cString: gai_strerror(status))); check --syslog=HOST:PORT")
                }
                defer { freeaddrinfo(first) }
                let fd = Glibc.socket(first.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard fd >= 0, Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
                    let number = errno
                    if fd >= 0 { close(fd) }
                    throw OperationsError.syslog(
                        "cannot send to syslog server \(destination.displayString): \(OperationsError.text(ofErrno: number))")
                }
                return fd
            }
        }
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
