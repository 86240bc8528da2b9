import NIOCore

/// What a PROXY protocol header (HAProxy's proxy-protocol.txt, version 1 or 2) says about the
/// connection a balancer relays: who connected to the balancer, and to which of its addresses.
///
/// ``ProxyProtocolHandler`` sends it down the pipeline as a user inbound event, before any byte of
/// the connection, so that the handlers after it name the real client.
public struct ProxyProtocolHeader: Sendable, Hashable {
    /// The header's format: 1 is a text line, 2 binary.
    public var version: Int
    /// The addresses the header carries.
    public var addresses: Addresses

    /// The original connection's endpoints, as far as the header tells them.
    public enum Addresses: Sendable, Hashable {
        /// None: a version 2 `LOCAL` connection (the balancer's own, e.g. a health check), a version 1
        /// `UNKNOWN` line, or a family or transport the header marks as unspecified (or one this
        /// receiver falls back from, UDP): the connection's own addresses apply (spec §2.1, §2.2).
        case unspecified
        /// TCP over IPv4 or IPv6.
        case inet(source: SocketAddress, destination: SocketAddress)
        /// A unix stream socket (version 2 only): the paths, up to their first NUL (empty for an
        /// unnamed socket).
        case unix(source: String, destination: String)
    }

    public init(version: Int, addresses: Addresses) {
        self.version = version
        self.addresses = addresses
    }

    /// The client as logs and recordings write it (`192.0.2.1:5678`, `[2001:db8::1]:5678`,
    /// `unix:PATH`); nil when the header names no address.
    public var sourceDescription: String? {
        switch addresses {
        case .unspecified: nil
        case .inet(let source, _): describe(source)
        case .unix(let source, _): "unix:\(source)"
        }
    }
}
