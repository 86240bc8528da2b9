/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), or one address (`192.0.2.7` is
/// `192.0.2.7/32`): the peers `--trust-proxy` names.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's first address (host bits cleared).
    public let address: IPAddress
    /// Leading bits that must match: 0–32 for IPv4, 0–128 for IPv6.
    public let prefixLength: Int

    /// Parses `ADDRESS[/BITS]`; nil when the address is not an IP literal or the prefix length is
    /// not 0–32 (IPv4) or 0–128 (IPv6). Host bits set in the address (`192.0.2.7/24`) are cleared,
    /// as `ip route` does, rather than refused.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), parts[1].count <= 3,
                let value = Int(parts[1]), value <= bits
            else { return nil }
            length = value
        }
        self.prefixLength = length
        self.address = IPAddress(bytes: Self.masked(address.bytes, length))!
    }

    /// Whether `candidate` lies in this network (an IPv4 address never lies in an IPv6 network:
    /// IPv4-mapped addresses were already taken as IPv4 by ``IPAddress``).
    public func contains(_ candidate: IPAddress) -> Bool {
        candidate.bytes.count == address.bytes.count && Self.masked(candidate.bytes, prefixLength) == address.bytes
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = min(max(length - index * 8, 0), 8)
            return keep == 8 ? byte : byte & ~(0xFF >> keep)
        }
    }
}
