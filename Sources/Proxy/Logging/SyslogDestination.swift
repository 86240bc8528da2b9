/// Where `--syslog=SERVER` sends messages.
public enum SyslogDestination: Sendable, Equatable {
    /// A local datagram socket such as `/dev/log` (an absolute path).
    case unixSocket(path: String)
    /// A syslog server over UDP.
    case udp(host: String, port: Int)

    /// websockify 0.13's rule: text with a `:` is `host:port` (IPv6 in brackets), anything else a
    /// socket path, made absolute against `workingDirectory` (the daemon changes directory).
    public init(parsing text: String, workingDirectory: String) throws {
        if text.contains(":") {
            guard case .hostPort(let host, let port) = try AddressParsing.target(text) else {
                throw OperationsError.syslog("--syslog=\(text): expected host:port or a socket path")
            }
            guard port > 0 else { throw OperationsError.syslog("--syslog=\(text): the UDP port must not be 0") }
            self = .udp(host: host, port: port)
        } else {
            guard !text.isEmpty else { throw OperationsError.syslog("--syslog needs a socket path or host:port") }
            self = .unixSocket(path: text.hasPrefix("/") ? text : "\(workingDirectory)/\(text)")
        }
    }

    /// For messages: `udp:host:port` or the path.
    public var displayString: String {
        switch self {
        case .unixSocket(let path): path
        case .udp(let host, let port): host.contains(":") ? "udp:[\(host)]:\(port)" : "udp:\(host):\(port)"
        }
    }
}
