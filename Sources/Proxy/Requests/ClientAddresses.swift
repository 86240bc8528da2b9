import NIOCore
import NIOHTTP1

/// Who a request comes from, as logs, recordings and plugins see it: the real client, and the
/// balancer it came through when the client's address was taken from the balancer's word.
public struct ClientAddresses: Sendable, Equatable {
    /// The client: `192.0.2.1:5678`, `[2001:db8::1]:5678`, `unix:PATH`, or an address without its
    /// port (`192.0.2.1`, `[2001:db8::1]`) when a forwarded header gives none.
    public var client: String
    /// The TCP peer (the balancer) when ``client`` came from a PROXY protocol header or a trusted
    /// forwarded header; nil when the client connected directly.
    public var via: String?

    public init(client: String, via: String? = nil) {
        self.client = client
        self.via = via
    }

    /// The addresses of a request that arrived from `peer` (the TCP peer), after the PROXY protocol
    /// header `proxyHeader` if there was one, with `headers`, under `balancer`'s rules: the PROXY
    /// header's source stands for the peer; then, only if that address is a trusted proxy, the
    /// forwarded header names the client (``ForwardedFor/client(in:isTrusted:)``).
    public static func resolve(
        peer: SocketAddress?, proxyHeader: ProxyProtocolHeader?, headers: HTTPHeaders, balancer: BalancerSettings
    ) -> ClientAddresses {
        let peerText = peer.map(describe) ?? "?"
        var hop = peerText
        var hopIP = peer.flatMap { IPAddress($0) }
        var hopIsUnix = peer?.protocol == .unix
        var proxied = true
        switch proxyHeader?.addresses {
        case .inet(let source, _)?:
            hop = describe(source)
            hopIP = IPAddress(source)
            hopIsUnix = false
        case .unix(let source, _)?:
            hop = "unix:\(source)"
            hopIP = nil
            hopIsUnix = true
        case .unspecified?, nil:
            proxied = false
        }
        let direct = ClientAddresses(client: hop, via: proxied ? peerText : nil)
        let trusted = hopIP.map(balancer.trusts) ?? (hopIsUnix && balancer.trustsUnixSocketPeers)
        guard trusted else { return direct }
        let entries =
            switch balancer.forwardedHeader {
            case .xForwardedFor: ForwardedFor.xForwardedForEntries(headers)
            case .forwarded: ForwardedFor.forwardedEntries(headers)
            }
        guard case .address(let address, let port)? = ForwardedFor.client(in: entries, isTrusted: balancer.trusts)
        else { return direct }
        return ClientAddresses(client: address.endpointDescription(port: port), via: peerText)
    }
}
