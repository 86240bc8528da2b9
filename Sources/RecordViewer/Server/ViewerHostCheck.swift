/// Which `Host` header values the viewer answers: a guard against DNS rebinding, where a page on
/// another site points its own name at 127.0.0.1 and then reads the recording (typed keys, raw
/// bytes) same-origin. Accepted, with the listening port (or none when that port is 80): `localhost`
/// and names under `.localhost` (RFC 6761: browsers resolve them to loopback themselves), any IP
/// literal (no DNS is involved), and the `--listen` host as given. Any other name is refused — as
/// webpack-dev-server's `allowedHosts: "auto"` does; a request without a Host header (HTTP/1.0, no
/// browser sends one) is answered.
struct ViewerHostCheck: Sendable {
    /// The host the server was asked to listen on (`--listen`), lowercased.
    let listenHost: String
    let port: Int

    init(listenHost: String, port: Int) {
        self.listenHost = Self.normalized(listenHost)
        self.port = port
    }

    /// Whether a request with these Host header values is answered.
    func allows(_ values: [String]) -> Bool {
        guard let value = values.first else { return true }
        guard values.count == 1, let (name, port) = Self.split(value) else { return false }
        guard port.map({ $0 == self.port }) ?? (self.port == 80) else { return false }
        let host = Self.normalized(name)
        return host == "localhost" || host.hasSuffix(".localhost") || host == listenHost || Self.isIPLiteral(host)
    }

    /// `name` and the port of a Host value (`name`, `name:port`, `[v6]`, `[v6]:port`); nil when malformed.
    static func split(_ value: String) -> (String, Int?)? {
        let text = value.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let name = String(text[...close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (name, nil) }
            guard rest.first == ":", let port = Int(rest.dropFirst()), (0...65535).contains(port) else { return nil }
            return (name, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard !parts[0].isEmpty, parts.count <= 2 else { return nil }
        if parts.count == 1 { return (String(parts[0]), nil) }
        guard let port = Int(parts[1]), (0...65535).contains(port) else { return nil }
        return (String(parts[0]), port)
    }

    /// Lowercased, without one trailing dot, IPv6 in brackets.
    static func normalized(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        if host.contains(":"), !host.hasPrefix("[") { host = "[\(host)]" }
        return host
    }

    /// A dotted IPv4 address or a bracketed IPv6 one.
    static func isIPLiteral(_ host: String) -> Bool {
        if host.hasPrefix("[") && host.hasSuffix("]") {
            let inner = host.dropFirst().dropLast()
            return !inner.isEmpty && inner.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
                && Int(part).map { $0 <= 255 } == true
        }
    }
}
