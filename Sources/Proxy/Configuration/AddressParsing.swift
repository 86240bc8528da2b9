/// Parses websockify's address arguments: `[source_addr:]source_port` and `target_addr:target_port`,
/// with IPv6 literals in brackets (`[::1]:6080`).
public enum AddressParsing {
    /// A listen address: nil host means every interface.
    public static func listen(_ text: String) throws -> (host: String?, port: Int) {
        if let port = Int(text) {
            return (nil, try checkedPort(port, in: text))
        }
        let (host, port) = try hostAndPort(text)
        return (host.isEmpty ? nil : host, port)
    }

    /// A target address; the host is required.
    public static func target(_ text: String) throws -> ProxyConfiguration.Target {
        let (host, port) = try hostAndPort(text)
        guard !host.isEmpty else { throw ProxyError.invalidAddress(text, why: "target host missing") }
        return .hostPort(host: host, port: port)
    }

    private static func hostAndPort(_ text: String) throws -> (String, Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ProxyError.invalidAddress(text, why: "missing ']' after IPv6 address")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ProxyError.invalidAddress(text, why: "expected ':port' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ProxyError.invalidAddress(text, why: "expected host:port")
            }
            host = text[..<colon]
            if host.contains(":") {
                throw ProxyError.invalidAddress(text, why: "put IPv6 addresses in brackets, e.g. [::1]:5900")
            }
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText) else { throw ProxyError.invalidAddress(text, why: "port is not a number") }
        return (String(host), try checkedPort(port, in: text))
    }

    private static func checkedPort(_ port: Int, in text: String) throws -> Int {
        guard (0...65535).contains(port) else {
            throw ProxyError.invalidAddress(text, why: "port out of range 0-65535")
        }
        return port
    }
}
