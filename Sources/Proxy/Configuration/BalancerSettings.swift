/// How the proxy learns the real client behind a load balancer or reverse proxy (HAProxy, nginx):
/// a PROXY protocol header on every connection, and forwarded headers from trusted peers only.
/// Both are off by default: a client's own claims about its address are never believed.
public struct BalancerSettings: Sendable, Equatable {
    /// `--proxy-protocol`: every connection starts with a PROXY protocol header (version 1 or 2),
    /// whose source address is the client's; connections without one are closed.
    public var proxyProtocol = false
    /// `--trust-proxy`: the peers whose ``forwardedHeader`` is believed (the TCP peer, or the PROXY
    /// protocol's source). Empty (the default): the header is ignored.
    public var trustedProxies: [TrustedProxy] = []
    /// `--forwarded-header`: which header a trusted peer writes. Only that one is read, so a client
    /// cannot plant the other one and have it passed on untouched.
    public var forwardedHeader = ForwardedHeader.xForwardedFor

    public init() {}

    /// A header naming the client chain.
    public enum ForwardedHeader: String, Sendable, CaseIterable {
        /// `X-Forwarded-For: client, proxy1, proxy2` (HAProxy's `option forwardfor`, nginx's
        /// `$proxy_add_x_forwarded_for`).
        case xForwardedFor = "x-forwarded-for"
        /// `Forwarded: for=client, for=proxy1` (RFC 7239).
        case forwarded
    }

    /// A peer `--trust-proxy` names.
    public enum TrustedProxy: Sendable, Hashable, CustomStringConvertible {
        /// Peers in an IPv4 or IPv6 network.
        case network(IPNetwork)
        /// Any peer of a unix socket listener (`--unix-listen` behind nginx).
        case unixSocket

        /// `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7` (one address), or `unix`; nil otherwise.
        public init?(_ text: String) {
            if text == "unix" {
                self = .unixSocket
            } else if let network = IPNetwork(text) {
                self = .network(network)
            } else {
                return nil
            }
        }

        public var description: String {
            switch self {
            case .network(let network): network.description
            case .unixSocket: "unix"
            }
        }
    }

    /// Whether a peer at `address` is a trusted proxy.
    public func trusts(_ address: IPAddress) -> Bool {
        trustedProxies.contains { trusted in
            if case .network(let network) = trusted { network.contains(address) } else { false }
        }
    }

    /// What the server logs at start; nil when both are off.
    public var summary: String? {
        var parts: [String] = []
        if proxyProtocol {
            parts.append("every connection must start with a PROXY protocol header (--proxy-protocol)")
        }
        if !trustedProxies.isEmpty {
            let header = forwardedHeader == .forwarded ? "Forwarded" : "X-Forwarded-For"
            parts.append(
                "the client is taken from \(header) when the peer is one of "
                    + trustedProxies.map(\.description).joined(separator: ", ") + " (--trust-proxy)")
        }
        return parts.isEmpty ? nil : "behind a balancer: " + parts.joined(separator: "; ")
    }

    /// Whether the peers of a unix socket listener are trusted proxies.
    public var trustsUnixSocketPeers: Bool { trustedProxies.contains(.unixSocket) }
}
