import NIOCore
import Proxy
import Testing

/// A version 2 header as HAProxy builds it (proxy-protocol.txt §2.2): signature, version and
/// command, family and transport, length, then `block`.
func proxyV2(command: UInt8 = 1, familyTransport: UInt8, block: [UInt8]) -> [UInt8] {
    [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20 | command, familyTransport,
        UInt8(block.count >> 8), UInt8(block.count & 0xFF)] + block
}

/// The address block of TCP over IPv4: source, destination, source port, destination port.
func proxyV2IPv4Block(_ source: [UInt8], _ destination: [UInt8], _ sourcePort: UInt16, _ destinationPort: UInt16)
    -> [UInt8]
{
    source + destination + [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF)]
        + [UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF)]
}

@Suite("PROXY protocol header parsing (versions 1 and 2)")
struct ProxyProtocolParserTests {
    func inet(_ source: String, _ sourcePort: Int, _ destination: String, _ destinationPort: Int) throws
        -> ProxyProtocolHeader.Addresses
    {
        .inet(
            source: try SocketAddress(ipAddress: source, port: sourcePort),
            destination: try SocketAddress(ipAddress: destination, port: destinationPort))
    }

    /// Every valid header below, with what it parses to.
    func validHeaders() throws -> [(bytes: [UInt8], header: ProxyProtocolHeader)] {
        let ipv6Source: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [0x07]
        let ipv6Destination: [UInt8] = [UInt8](repeating: 0, count: 15) + [1]
        var unixBlock = [UInt8](repeating: 0, count: 216)
        unixBlock.replaceSubrange(0..<9, with: Array("/run/a.so".utf8))
        unixBlock.replaceSubrange(108..<117, with: Array("/run/b.so".utf8))
        return [
            (
                Array("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".utf8),
                ProxyProtocolHeader(version: 1, addresses: try inet("192.168.0.1", 56324, "192.168.0.11", 443))
            ),
            (
                Array("PROXY TCP6 2001:db8::7 ::1 0 65535\r\n".utf8),
                ProxyProtocolHeader(version: 1, addresses: try inet("2001:db8::7", 0, "::1", 65535))
            ),
            (Array("PROXY UNKNOWN\r\n".utf8), ProxyProtocolHeader(version: 1, addresses: .unspecified)),
            (
                Array("PROXY UNKNOWN ffff:f::f:ffff ffff:f::f:ffff 65535 65535\r\n".utf8),
                ProxyProtocolHeader(version: 1, addresses: .unspecified)
            ),
            (
                proxyV2(familyTransport: 0x11, block: proxyV2IPv4Block([127, 0, 0, 2], [127, 0, 0, 1], 40001, 6080)),
                ProxyProtocolHeader(version: 2, addresses: try inet("127.0.0.2", 40001, "127.0.0.1", 6080))
            ),
            (
                proxyV2(familyTransport: 0x21, block: ipv6Source + ipv6Destination + [0x9c, 0x41, 0x17, 0xc0]),
                ProxyProtocolHeader(version: 2, addresses: try inet("2001:db8::7", 40001, "::1", 6080))
            ),
            (
                proxyV2(familyTransport: 0x31, block: unixBlock),
                ProxyProtocolHeader(version: 2, addresses: .unix(source: "/run/a.so", destination: "/run/b.so"))
            ),
            // LOCAL (a health check): whatever the family and addresses say is ignored.
            (proxyV2(command: 0, familyTransport: 0x00, block: []), ProxyProtocolHeader(version: 2, addresses: .unspecified)),
            (
                proxyV2(command: 0, familyTransport: 0x11, block: proxyV2IPv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
                ProxyProtocolHeader(version: 2, addresses: .unspecified)
            ),
            // PROXY with AF_UNSPEC, and UDP (a receiver falls back to the connection's addresses).
            (proxyV2(familyTransport: 0x00, block: [1, 2, 3]), ProxyProtocolHeader(version: 2, addresses: .unspecified)),
            (
                proxyV2(familyTransport: 0x12, block: proxyV2IPv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
                ProxyProtocolHeader(version: 2, addresses: .unspecified)
            ),
            // TLVs after the addresses (here PP2_TYPE_ALPN "h2" and PP2_TYPE_UNIQUE_ID) are skipped.
            (
                proxyV2(
                    familyTransport: 0x11,
                    block: proxyV2IPv4Block([10, 0, 0, 9], [10, 0, 0, 1], 1234, 80) + [0x01, 0, 2, 0x68, 0x32]
                        + [0x05, 0, 3, 1, 2, 3]),
                ProxyProtocolHeader(version: 2, addresses: try inet("10.0.0.9", 1234, "10.0.0.1", 80))
            ),
        ]
    }

    @Test("valid headers of both versions give their addresses and length; the bytes after them are not taken")
    func valid() throws {
        for (bytes, header) in try validHeaders() {
            let request = Array("GET / HTTP/1.1\r\n".utf8)
            #expect(ProxyProtocolParser.parse(bytes) == .header(header, length: bytes.count))
            #expect(ProxyProtocolParser.parse(bytes + request) == .header(header, length: bytes.count))
        }
    }

    @Test("split at every byte: each prefix needs more, nothing is decided early")
    func everySplit() throws {
        for (bytes, _) in try validHeaders() {
            #expect(ProxyProtocolParser.parse([UInt8]()) == .needMore)
            for length in 1..<bytes.count {
                #expect(
                    ProxyProtocolParser.parse(bytes.prefix(length)) == .needMore,
                    "\(length) of \(bytes.count) bytes of \(ProxyProtocolParser.parse(bytes))")
            }
        }
    }

    @Test("the client as logs write it")
    func sourceDescription() throws {
        #expect(
            ProxyProtocolHeader(version: 1, addresses: try inet("192.0.2.1", 5, "192.0.2.2", 6)).sourceDescription
                == "192.0.2.1:5")
        #expect(
            ProxyProtocolHeader(version: 2, addresses: try inet("2001:db8::1", 5, "::1", 6)).sourceDescription
                == "[2001:db8::1]:5")
        #expect(ProxyProtocolHeader(version: 2, addresses: .unix(source: "/s", destination: "")).sourceDescription == "unix:/s")
        #expect(ProxyProtocolHeader(version: 2, addresses: .unspecified).sourceDescription == nil)
    }

    /// `bytes` is invalid, and so is every longer input starting with it.
    func expectInvalid(_ bytes: [UInt8], _ containing: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for input in [bytes, bytes + Array("more bytes\r\n".utf8)] {
            guard case .invalid(let why) = ProxyProtocolParser.parse(input) else {
                Issue.record("not invalid: \(ProxyProtocolParser.parse(input))", sourceLocation: sourceLocation)
                return
            }
            #expect(why.contains(containing), "\(why)", sourceLocation: sourceLocation)
        }
    }

    @Test("a connection that does not start with a header is refused at its first wrong byte")
    func garbage() {
        expectInvalid(Array("G".utf8), "starts with 'G")
        expectInvalid(Array("GET / HTTP/1.1\r\n".utf8), "starts with 'GET / HTTP/1.1\\x0d\\x0a")
        expectInvalid([0x16, 0x03, 0x01], "starts with '\\x16\\x03\\x01")
        expectInvalid(Array("PROXY\r\n".utf8), "starts with 'PROXY\\x0d\\x0a")
        expectInvalid(Array("proxy TCP4".utf8), "no PROXY protocol header")
        expectInvalid([0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0B], "no PROXY protocol header")
    }

    @Test("version 1: malformed lines are invalid")
    func v1Malformed() {
        let cases: [(String, String)] = [
            ("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n", "line feed without a carriage return"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX", "carriage return not followed"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n", "needs exactly"),
            ("PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n", "needs exactly"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n", "needs exactly"),
            ("PROXY TCP4 192.168.000.1 192.168.0.11 56324 443\r\n", "are not two IPv4"),
            ("PROXY TCP4 192.168.0.256 192.168.0.11 56324 443\r\n", "are not two IPv4"),
            ("PROXY TCP4 ::1 192.168.0.11 56324 443\r\n", "are not two IPv4"),
            ("PROXY TCP6 192.168.0.1 ::1 56324 443\r\n", "are not two IPv6"),
            ("PROXY TCP6 ::ffff:1.2.3.4 ::1 56324 443\r\n", "are not two IPv6"),
            ("PROXY TCP6 2001:db8::1::2 ::1 56324 443\r\n", "are not two IPv6"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n", "are not two ports"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n", "are not two ports"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 -1 443\r\n", "are not two ports"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 +1 443\r\n", "are not two ports"),
            ("PROXY UDP4 192.168.0.1 192.168.0.11 1 443\r\n", "unknown protocol 'UDP4'"),
            ("PROXY  TCP4 192.168.0.1 192.168.0.11 1 443\r\n", "unknown protocol ''"),
            ("PROXY TCP4 192.168.0.1 192.168.0.11 1 44\u{7}\r\n", "not printable ASCII"),
        ]
        for (line, why) in cases { expectInvalid(Array(line.utf8), why) }
        expectInvalid(Array("PROXY UNKNOWN é\r\n".utf8), "not printable ASCII")
    }

    @Test("version 1: the line must end within 107 bytes, CRLF included")
    func v1Length() {
        // The longest line the spec allows is accepted...
        let longest = "PROXY UNKNOWN " + String(repeating: "f", count: 91) + "\r\n"
        #expect(longest.utf8.count == 107)
        #expect(ProxyProtocolParser.parse(Array(longest.utf8)) == .header(.init(version: 1, addresses: .unspecified), length: 107))
        // ...one byte more is not, whether the CR is byte 107 or missing, and however it arrives.
        let tooLong = Array(("PROXY UNKNOWN " + String(repeating: "f", count: 92) + "\r\n").utf8)
        expectInvalid(tooLong, "no CRLF within the first 107 bytes")
        expectInvalid(Array(tooLong.prefix(107)), "no CRLF within the first 107 bytes")
        expectInvalid(Array(("PROXY UNKNOWN " + String(repeating: "f", count: 200)).utf8), "no CRLF within the first 107")
        #expect(ProxyProtocolParser.parse(tooLong.prefix(106)) == .needMore)
    }

    @Test("version 2: wrong version, command, family, transport, short address blocks and oversized headers are invalid")
    func v2Malformed() {
        let ipv4 = proxyV2IPv4Block([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)
        var version1 = proxyV2(familyTransport: 0x11, block: ipv4)
        version1[12] = 0x11
        expectInvalid(Array(version1.prefix(13)), "version 2 signature with version 1")
        expectInvalid(Array(proxyV2(command: 2, familyTransport: 0x11, block: ipv4).prefix(13)), "unknown command 2")
        expectInvalid(proxyV2(familyTransport: 0x41, block: ipv4), "unknown address family 4")
        expectInvalid(proxyV2(familyTransport: 0x13, block: ipv4), "unknown transport protocol 3")
        expectInvalid(proxyV2(familyTransport: 0x11, block: Array(ipv4.prefix(11))), "family 1 needs 12")
        expectInvalid(proxyV2(familyTransport: 0x21, block: ipv4), "family 2 needs 36")
        expectInvalid(proxyV2(familyTransport: 0x31, block: ipv4), "family 3 needs 216")
        let limit = ProxyProtocolParser.maximumV2AddressLength
        // The length alone decides: refused before the block arrives.
        expectInvalid(Array(proxyV2(familyTransport: 0x11, block: [UInt8](repeating: 0, count: limit + 1)).prefix(16)), "more than \(limit)")
        let largest = proxyV2(familyTransport: 0x11, block: ipv4 + [0xE0] + [UInt8](repeating: 0, count: limit - 12 - 1))
        guard case .header(_, let length) = ProxyProtocolParser.parse(largest) else {
            Issue.record("the largest allowed header is refused")
            return
        }
        #expect(length == 16 + limit)
    }
}
