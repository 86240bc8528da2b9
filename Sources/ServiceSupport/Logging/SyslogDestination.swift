/// Where `--syslog=SERVER` sends messages.
public enum SyslogDestination: Sendable, Equatable {
    /// A local datagram socket such as `/dev/log` (an absolute path).
    case unixSocket(path: String)
    /// A syslog server over UDP (RFC 5426).
    case udp(host: String, port: Int)
    /// A syslog server over TCP (RFC 6587), as rsyslog's `imtcp` and syslog-ng's `network()` take it.
    case tcp(host: String, port: Int)

    /// websockify 0.13's rule: text with a `:` is `host:port` (IPv6 in brackets), anything else a
    /// socket path, made absolute against `workingDirectory` (the daemon changes directory).
    /// `tcp:host:port` chooses TCP, `udp:host:port` says UDP explicitly (the forms
    /// ``displayString`` prints).
    public init(parsing text: String, workingDirectory: String) throws {
        if text.contains(":") {
            let tcp = text.hasPrefix("tcp:")
            let address = tcp || text.hasPrefix("udp:") ? String(text.dropFirst(4)) : text
            let host: String
            let port: Int
            do {
                (host, port) = try HostPort.parse(address)
            } catch {
                throw OperationsError.syslog("invalid address '\(address)': \(error.why)")
            }
            guard !host.isEmpty else { throw OperationsError.syslog("invalid address '\(address)': target host missing") }
            guard port > 0 else {
                throw OperationsError.syslog("--syslog=\(text): the \(tcp ? "TCP" : "UDP") port must not be 0")
            }
            self = tcp ? .tcp(host: host, port: port) : .udp(host: host, port: port)
        } else {
            guard !text.isEmpty else { throw OperationsError.syslog("--syslog needs a socket path or host:port") }
            self = .unixSocket(path: text.hasPrefix("/") ? text : "\(workingDirectory)/\(text)")
        }
    }

    /// For messages: `udp:host:port`, `tcp:host:port` or the path.
    public var displayString: String {
        switch self {
        case .unixSocket(let path): path
        case .udp(let host, let port): "udp:" + Self.hostPort(host, port)
        case .tcp(let host, let port): "tcp:" + Self.hostPort(host, port)
        }
    }

    private static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
