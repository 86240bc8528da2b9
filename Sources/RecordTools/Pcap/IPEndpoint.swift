/// An IP address and TCP port of a synthesized connection.
public struct IPEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public var address: [UInt8]
    public var port: UInt16

    public init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
    }

    public var isIPv6: Bool { address.count == 16 }
    public var isLoopback: Bool { isIPv6 ? address == [UInt8](repeating: 0, count: 15) + [1] : address[0] == 127 }
    public var isUnspecified: Bool { address.allSatisfy { $0 == 0 } }

    /// `a.b.c.d:port` or `[v6]:port`.
    public var description: String {
        if !isIPv6 { return address.map(String.init).joined(separator: ".") + ":\(port)" }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(address[i]) << 8 | UInt16(address[i + 1]), radix: 16))
        }
        return "[" + groups.joined(separator: ":") + "]:\(port)"
    }

    /// Documentation addresses (RFC 5737 192.0.2.0/24, RFC 3849 2001:db8::/32) for unknown hosts.
    public static func documentation(_ host: UInt8, port: UInt16, ipv6: Bool = false) -> IPEndpoint {
        ipv6
            ? IPEndpoint(address: [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [host], port: port)
            : IPEndpoint(address: [192, 0, 2, host], port: port)
    }

    /// Splits a recorded address (`127.0.0.1:5900`, `[::1]:5900`, `host:5900`) into host text and port.
    public static func split(_ text: String) -> (host: String, port: UInt16?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? UInt16(rest.dropFirst()) : nil)
        }
        if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            return (String(text[..<colon]), UInt16(text[text.index(after: colon)...]))
        }
        return (text, nil)
    }

    /// The address of an IPv4 or IPv6 literal; nil for host names and anything else.
    public static func parseAddress(_ host: String) -> [UInt8]? {
        let host = host.split(separator: "%", maxSplits: 1).first.map(String.init) ?? host  // drop a zone
        if !host.contains(":") {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            let bytes = parts.compactMap { $0.count <= 3 ? UInt8($0) : nil }
            return bytes.count == 4 ? bytes : nil
        }
        let halves = host.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            let values = part.split(separator: ":", omittingEmptySubsequences: false).map {
                $0.count <= 4 ? UInt16($0, radix: 16) : nil
            }
            return values.contains(nil) ? nil : values.map { $0! }
        }
        guard let head = groups(halves[0]), let tail = halves.count == 2 ? groups(halves[1]) : [] else { return nil }
        let missing = 8 - head.count - tail.count
        guard halves.count == 2 ? missing >= 1 : missing == 0 else { return nil }
        let all = head + [UInt16](repeating: 0, count: halves.count == 2 ? missing : 0) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension String {
    /// Splits on a separator string (no Foundation).
    fileprivate func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
