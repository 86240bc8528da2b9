import NIOCore
import NIOHTTP1
import Proxy
import Testing

@Suite("The real client: trusted networks, X-Forwarded-For and Forwarded")
struct ForwardedForTests {
    func ip(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }

    @Test("CIDR networks of both families; one address is a /32 or /128; IPv4-mapped peers match IPv4 networks")
    func networks() throws {
        let ten = try #require(IPNetwork("10.0.0.0/8"))
        #expect(ten.contains(try ip("10.255.1.2")))
        #expect(!ten.contains(try ip("11.0.0.1")))
        #expect(ten.contains(try ip("::ffff:10.1.2.3")))
        #expect(!ten.contains(try ip("::a01:203")))
        let host = try #require(IPNetwork("192.0.2.7"))
        #expect(host.description == "192.0.2.7/32")
        #expect(host.contains(try ip("192.0.2.7")))
        #expect(!host.contains(try ip("192.0.2.8")))
        let odd = try #require(IPNetwork("192.0.2.77/27"))
        #expect(odd.description == "192.0.2.64/27")
        #expect(odd.contains(try ip("192.0.2.95")))
        #expect(!odd.contains(try ip("192.0.2.96")))
        let doc = try #require(IPNetwork("2001:db8::/32"))
        #expect(doc.contains(try ip("2001:db8:ffff::1")))
        #expect(!doc.contains(try ip("2001:db9::1")))
        #expect(!doc.contains(try ip("10.0.0.1")))
        #expect(try #require(IPNetwork("::/0")).contains(try ip("::1")))
        #expect(try #require(IPNetwork("0.0.0.0/0")).contains(try ip("203.0.113.9")))
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0/8", "host/8",
            "[::1]", "010.0.0.1", "10.0.0.0/8/8", "fe80::1%eth0"]
        {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test("X-Forwarded-For entries over every line of the header, with or without ports")
    func xForwardedFor() throws {
        let headers = HTTPHeaders([
            ("X-Forwarded-For", "203.0.113.7, unknown ,198.51.100.2:4711"),
            ("Host", "h"),
            ("x-forwarded-for", "2001:db8::1,[2001:db8::2]:80, [2001:db8::3],,_hidden, 192.0.2.1:"),
        ])
        #expect(
            ForwardedFor.xForwardedForEntries(headers) == [
                .address(try ip("203.0.113.7"), port: nil), .opaque("unknown"),
                .address(try ip("198.51.100.2"), port: 4711), .address(try ip("2001:db8::1"), port: nil),
                .address(try ip("2001:db8::2"), port: 80), .address(try ip("2001:db8::3"), port: nil),
                .opaque("_hidden"), .opaque("192.0.2.1:"),
            ])
    }

    @Test("Forwarded (RFC 7239): for= of each element, quoted strings, obfuscated and unknown nodes")
    func forwarded() throws {
        let headers = HTTPHeaders([
            ("Forwarded", #"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711""#),
            ("Forwarded", #"for=unknown, proto=https, for="_gazonk", by=x;for="198.51.100.17:_port""#),
            ("Forwarded", #"host="a,b;c";for=192.0.2.9, for="192.0.2.10, for=unterminated"#),
        ])
        #expect(
            ForwardedFor.forwardedEntries(headers) == [
                .address(try ip("192.0.2.60"), port: nil), .address(try ip("2001:db8:cafe::17"), port: 4711),
                .opaque("unknown"), .opaque(" proto=https"), .opaque("_gazonk"),
                .address(try ip("198.51.100.17"), port: nil), .address(try ip("192.0.2.9"), port: nil),
                .opaque(#" for="192.0.2.10, for=unterminated"#),
            ])
    }

    @Test("the client is the right-most entry that is not a trusted proxy; an unknown node stops the walk")
    func selection() throws {
        let trusted = [try #require(IPNetwork("10.0.0.0/8")), try #require(IPNetwork("2001:db8::/32"))]
        let isTrusted: (IPAddress) -> Bool = { address in trusted.contains { $0.contains(address) } }
        func pick(_ header: String) -> ForwardedFor.Entry? {
            ForwardedFor.client(
                in: ForwardedFor.xForwardedForEntries(HTTPHeaders([("X-Forwarded-For", header)])), isTrusted: isTrusted)
        }
        // A client's own (spoofed) entries are further left than the one its balancer appended.
        #expect(pick("6.6.6.6, 203.0.113.7") == .address(try ip("203.0.113.7"), port: nil))
        #expect(pick("6.6.6.6, 203.0.113.7, 10.0.0.2, 2001:db8::9") == .address(try ip("203.0.113.7"), port: nil))
        // Only trusted proxies: the left-most of them.
        #expect(pick("10.0.0.3, 10.0.0.2") == .address(try ip("10.0.0.3"), port: nil))
        // Unknown nodes: the nearest trusted proxy stands for the client, or nobody (the peer).
        #expect(pick("203.0.113.7, unknown, 10.0.0.2") == .address(try ip("10.0.0.2"), port: nil))
        #expect(pick("203.0.113.7, garbage") == nil)
        #expect(pick("") == nil)
        #expect(ForwardedFor.client(in: [], isTrusted: isTrusted) == nil)
    }

    func resolve(
        peer: String, _ headers: [(String, String)], proxyHeader: ProxyProtocolHeader? = nil,
        trust: [String] = [], header: BalancerSettings.ForwardedHeader = .xForwardedFor
    ) throws -> ClientAddresses {
        var balancer = BalancerSettings()
        balancer.trustedProxies = try trust.map { try #require(BalancerSettings.TrustedProxy($0)) }
        balancer.forwardedHeader = header
        let (host, port) = (String(peer.split(separator: " ")[0]), Int(peer.split(separator: " ")[1])!)
        return ClientAddresses.resolve(
            peer: try SocketAddress(ipAddress: host, port: port), proxyHeader: proxyHeader,
            headers: HTTPHeaders(headers), balancer: balancer)
    }

    @Test("headers count only from trusted peers; never by default")
    func trustedPeersOnly() throws {
        let xff = [("X-Forwarded-For", "203.0.113.7")]
        #expect(try resolve(peer: "10.0.0.2 40000", xff) == ClientAddresses(client: "10.0.0.2:40000"))
        #expect(try resolve(peer: "10.0.0.2 40000", xff, trust: ["192.168.0.0/16"]) == ClientAddresses(client: "10.0.0.2:40000"))
        #expect(
            try resolve(peer: "10.0.0.2 40000", xff, trust: ["192.168.0.0/16", "10.0.0.0/8"])
                == ClientAddresses(client: "203.0.113.7", via: "10.0.0.2:40000"))
        // No header from a trusted peer: the peer is the client.
        #expect(try resolve(peer: "10.0.0.2 40000", [], trust: ["10.0.0.0/8"]) == ClientAddresses(client: "10.0.0.2:40000"))
        // Only the chosen header is read.
        let forwarded = [("Forwarded", "for=\"[2001:db8::7]:5\"")]
        #expect(try resolve(peer: "10.0.0.2 1", forwarded, trust: ["10.0.0.0/8"]) == ClientAddresses(client: "10.0.0.2:1"))
        #expect(
            try resolve(peer: "10.0.0.2 1", forwarded + xff, trust: ["10.0.0.0/8"], header: .forwarded)
                == ClientAddresses(client: "[2001:db8::7]:5", via: "10.0.0.2:1"))
        // A dual-stack listener sees IPv4 peers as IPv4-mapped IPv6 addresses.
        #expect(
            try resolve(peer: "::ffff:10.0.0.2 7", xff, trust: ["10.0.0.0/8"])
                == ClientAddresses(client: "203.0.113.7", via: "[::ffff:10.0.0.2]:7"))
    }

    @Test("the PROXY protocol's source is the client, and the peer whose headers are believed")
    func proxyProtocolSource() throws {
        let header = ProxyProtocolHeader(
            version: 2,
            addresses: .inet(
                source: try SocketAddress(ipAddress: "10.9.9.9", port: 5555),
                destination: try SocketAddress(ipAddress: "192.0.2.1", port: 443)))
        let xff = [("X-Forwarded-For", "203.0.113.7")]
        #expect(try resolve(peer: "127.0.0.1 1", xff, proxyHeader: header) == ClientAddresses(client: "10.9.9.9:5555", via: "127.0.0.1:1"))
        // The balancer's own address is trusted, but the header is from the client it names.
        #expect(
            try resolve(peer: "127.0.0.1 1", xff, proxyHeader: header, trust: ["127.0.0.1"])
                == ClientAddresses(client: "10.9.9.9:5555", via: "127.0.0.1:1"))
        #expect(
            try resolve(peer: "127.0.0.1 1", xff, proxyHeader: header, trust: ["10.0.0.0/8"])
                == ClientAddresses(client: "203.0.113.7", via: "127.0.0.1:1"))
        // LOCAL and UNKNOWN: the connection's own peer.
        #expect(
            try resolve(peer: "127.0.0.1 1", xff, proxyHeader: ProxyProtocolHeader(version: 2, addresses: .unspecified))
                == ClientAddresses(client: "127.0.0.1:1"))
        #expect(
            try resolve(
                peer: "127.0.0.1 1", [], proxyHeader: ProxyProtocolHeader(version: 2, addresses: .unix(source: "/c", destination: "/s")))
                == ClientAddresses(client: "unix:/c", via: "127.0.0.1:1"))
    }
}
