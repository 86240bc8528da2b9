/// `host:port` as websockify's command line writes it: IPv6 literals in brackets (`[::1]:6080`),
/// the port 0–65535. The host may be empty (`:6080`); callers decide whether that is allowed.
public enum HostPort {
    /// Why a text is not `host:port`, in words for a message.
    public struct Problem: Error, Sendable, Equatable {
        public let why: String
    }

    public static func parse(_ text: String) throws(Problem) -> (host: String, port: Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw Problem(why: "missing ']' after IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw Problem(why: "expected ':port' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw Problem(why: "expected host:port") }
            host = text[..<colon]
            if host.contains(":") { throw Problem(why: "put IPv6 addresses in brackets, e.g. [::1]:5900") }
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText) else { throw Problem(why: "port is not a number") }
        return (String(host), try checkedPort(port))
    }

    /// `port` when it is a TCP port number.
    public static func checkedPort(_ port: Int) throws(Problem) -> Int {
        guard (0...65535).contains(port) else { throw Problem(why: "port out of range 0-65535") }
        return port
    }
}
