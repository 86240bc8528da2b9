import NIOCore

@testable import Proxy

/// `ProxyProtocolParser` (Proxy/Server): a PROXY protocol v1/v2 header at a connection's start.
///
/// Invariants: the verdict grows monotonically with the bytes (needMore on every prefix before a
/// verdict; a header of `length` bytes is the same header with any bytes after it, and needMore one
/// byte short; an invalid start stays invalid); a header is never longer than the limits; an inet
/// header written back in its own version parses to the same header.
enum ProxyProtocolTarget {
    static let target = FuzzTarget(
        name: "proxy-protocol",
        summary: "ProxyProtocolParser: verdicts monotonic in the bytes, bounded lengths, headers re-encode to themselves"
    ) { run($0) }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let seed = (0..<4).map { _ in input.byte() }
        let data = input.rest
        let verdict = ProxyProtocolParser.parse(data)
        let prefixes = seed.map { Int($0) * data.count / 255 }
        switch verdict {
        case .needMore:
            FuzzCheck.require(data.count < 16 + ProxyProtocolParser.maximumV2AddressLength, "needMore after the longest header")
            for length in prefixes {
                FuzzCheck.require(ProxyProtocolParser.parse(data.prefix(length)) == .needMore, "a prefix of needMore is not needMore")
            }
        case .invalid:
            for length in prefixes {
                if case .header = ProxyProtocolParser.parse(data.prefix(length)) {
                    FuzzCheck.require(false, "a prefix of an invalid start is a header")
                }
            }
        case .header(let header, let headerLength):
            let length = headerLength
            FuzzCheck.require(length <= data.count, "header longer than the input")
            FuzzCheck.require(
                length <= (header.version == 1 ? ProxyProtocolParser.maximumV1Length : 16 + ProxyProtocolParser.maximumV2AddressLength),
                "header of \(length) bytes")
            FuzzCheck.require(ProxyProtocolParser.parse(data.prefix(length)) == verdict, "the header alone parses differently")
            FuzzCheck.require(ProxyProtocolParser.parse(data.prefix(length - 1)) == .needMore, "one byte short is not needMore")
            for prefix in prefixes where prefix < headerLength {
                FuzzCheck.require(ProxyProtocolParser.parse(data.prefix(prefix)) == .needMore, "a prefix of a header is not needMore")
            }
            if let again = encode(header) {
                let reparsed = ProxyProtocolParser.parse(again)
                FuzzCheck.require(
                    reparsed == .header(header, length: again.count), "\(header) written back parses as \(reparsed)")
            }
        }
    }

    /// An inet header written in its own version (nil for others).
    static func encode(_ header: ProxyProtocolHeader) -> [UInt8]? {
        guard case .inet(let source, let destination) = header.addresses, let sourcePort = source.port,
            let destinationPort = destination.port, let sourceIP = source.ipAddress, let destinationIP = destination.ipAddress
        else { return nil }
        guard let sourceAddress = IPAddress(sourceIP), let destinationAddress = IPAddress(destinationIP) else { return nil }
        // The parser gives IPv4-mapped IPv6 addresses as IPv4: one family for both means IPv6 with
        // the mapped form when they differ.
        let v4 = sourceAddress.isIPv4 && destinationAddress.isIPv4
        func wire(_ address: IPAddress) -> [UInt8] {
            v4 || !address.isIPv4 ? address.bytes : [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + address.bytes
        }
        let a = wire(sourceAddress)
        let b = wire(destinationAddress)
        if header.version == 1 {
            // IPv6 as eight full hex groups: the line's form has no IPv4 tail.
            func text(_ bytes: [UInt8]) -> String {
                v4 ? bytes.map { String($0) }.joined(separator: ".")
                    : stride(from: 0, to: 16, by: 2).map { String(Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]), radix: 16) }
                        .joined(separator: ":")
            }
            let line = "PROXY \(v4 ? "TCP4" : "TCP6") \(text(a)) \(text(b)) \(sourcePort) \(destinationPort)\r\n"
            return Array(line.utf8)
        }
        var out = ProxyProtocolParser.v2Signature + [0x21, v4 ? 0x11 : 0x21]
        let block = a + b + [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xFF), UInt8(destinationPort >> 8), UInt8(destinationPort & 0xFF)]
        out += [UInt8(block.count >> 8), UInt8(block.count & 0xFF)] + block
        return out
    }
}
