import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes (4 or 16, network order), for comparing client addresses
/// with trusted networks. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack
/// listener sees for an IPv4 client) is taken as the IPv4 address it maps.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    /// An address of 4 or 16 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            self.bytes = Array(bytes[12...])
        } else if bytes.count == 4 || bytes.count == 16 {
            self.bytes = bytes
        } else {
            return nil
        }
    }

    /// Parses a literal: dotted IPv4 (`192.0.2.1`, no leading zeros) or IPv6 (`2001:db8::1`, no
    /// brackets, no zone); nil for anything else, host names included (nothing is resolved).
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        let isIPv6 = text.contains(":")
        var bytes = [UInt8](repeating: 0, count: isIPv6 ? 16 : 4)
        let parsed = bytes.withUnsafeMutableBytes { inet_pton(isIPv6 ? AF_INET6 : AF_INET, text, $0.baseAddress) }
        guard parsed == 1 else { return nil }
        self.init(bytes: bytes)
    }

    /// The IP address of a socket address; nil for a unix socket.
    public init?(_ address: SocketAddress) {
        guard address.protocol != .unix, let text = address.ipAddress else { return nil }
        self.init(text)
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// The canonical text: `192.0.2.1`, `2001:db8::1` (RFC 5952).
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count))
        }
        guard written != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address as logs and recordings write a client: `192.0.2.1:5678`, `[2001:db8::1]:5678`,
    /// or without `:port` when the port is not known.
    public func endpointDescription(port: Int?) -> String {
        let host = isIPv4 ? description : "[\(description)]"
        return port.map { "\(host):\($0)" } ?? host
    }
}
