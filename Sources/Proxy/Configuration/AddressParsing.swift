import ServiceSupport

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
        do {
            return try HostPort.parse(text)
        } catch {
            throw ProxyError.invalidAddress(text, why: error.why)
        }
    }

    private static func checkedPort(_ port: Int, in text: String) throws -> Int {
        do {
            return try HostPort.checkedPort(port)
        } catch {
            throw ProxyError.invalidAddress(text, why: error.why)
        }
    }
}
