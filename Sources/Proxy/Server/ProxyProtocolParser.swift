import NIOCore

/// Reads the PROXY protocol header at the start of a connection (HAProxy's proxy-protocol.txt:
/// version 1, a text line, §2.1; version 2, binary, §2.2). Pure: bytes in, a verdict out.
///
/// Bounded: a version 1 line must end (CRLF) within 107 bytes, and a version 2 header may carry at
/// most ``maximumV2AddressLength`` bytes after its 16-byte start. Anything that does not match the
/// protocol exactly is invalid, as early as the bytes show it (the spec asks receivers to abort such
/// connections as soon as possible so that the sender notices).
public enum ProxyProtocolParser {
    public enum Result: Sendable, Equatable {
        /// The header is not complete yet (and nothing so far contradicts it).
        case needMore
        /// A whole header, taking the first `length` bytes; what follows belongs to the connection.
        case header(ProxyProtocolHeader, length: Int)
        /// Not a valid PROXY protocol header: why, for the log.
        case invalid(String)
    }

    /// The longest version 1 line, CRLF included (`PROXY UNKNOWN` with two full IPv6 addresses and ports).
    public static let maximumV1Length = 107
    /// The most bytes of addresses and TLVs a version 2 header may announce. HAProxy sends a few
    /// hundred at most (addresses, ALPN, authority, unique id up to 128 bytes, TLS facts); the spec's
    /// own limit (a 16-bit length) would let every connection hold 64 KiB before it says anything.
    public static let maximumV2AddressLength = 4096

    /// `\r\n\r\n\0\r\nQUIT\n`: the start of every version 2 header.
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    static let v1Start = Array("PROXY ".utf8)

    /// Parses the start of a connection.
    public static func parse(_ input: some Collection<UInt8>) -> Result {
        let bytes = Array(input.prefix(16 + maximumV2AddressLength))
        guard let first = bytes.first else { return .needMore }
        if first == v2Signature[0] {
            return parseV2(bytes)
        }
        let compared = min(bytes.count, v1Start.count)
        guard bytes[..<compared].elementsEqual(v1Start[..<compared]) else {
            return .invalid("no PROXY protocol header: the connection starts with \(preview(bytes))")
        }
        guard bytes.count > v1Start.count else { return .needMore }
        return parseV1(bytes)
    }

    // MARK: Version 1

    private static func parseV1(_ bytes: [UInt8]) -> Result {
        var end: Int?
        for index in bytes.indices.prefix(maximumV1Length) {
            let byte = bytes[index]
            if byte == 0x0A { return .invalid("version 1: a line feed without a carriage return before it") }
            if byte == 0x0D {
                guard index + 2 <= maximumV1Length else { return tooLong }
                guard index + 1 < bytes.count else { return .needMore }
                guard bytes[index + 1] == 0x0A else {
                    return .invalid("version 1: a carriage return not followed by a line feed")
                }
                end = index
                break
            }
            guard byte >= 0x20, byte < 0x7F else {
                return .invalid("version 1: a byte 0x\(String(byte, radix: 16)) that is not printable ASCII")
            }
        }
        guard let end else { return bytes.count >= maximumV1Length ? tooLong : .needMore }
        let line = String(decoding: bytes[..<end], as: UTF8.self)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        let length = end + 2
        switch fields.count >= 2 ? fields[1] : "" {
        case "UNKNOWN":
            // The rest of the line may be anything, and is ignored (§2.1).
            return .header(ProxyProtocolHeader(version: 1, addresses: .unspecified), length: length)
        case "TCP4", "TCP6":
            guard fields.count == 6 else {
                return .invalid("version 1: \(fields[1]) needs exactly: source destination source-port destination-port")
            }
            let isV4 = fields[1] == "TCP4"
            guard let source = v1Address(fields[2], v4: isV4), let destination = v1Address(fields[3], v4: isV4) else {
                return .invalid("version 1: '\(fields[2]) \(fields[3])' are not two \(isV4 ? "IPv4" : "IPv6") addresses")
            }
            guard let sourcePort = v1Port(fields[4]), let destinationPort = v1Port(fields[5]) else {
                return .invalid("version 1: '\(fields[4]) \(fields[5])' are not two ports (0-65535, no leading zeros)")
            }
            return inet(version: 1, source, sourcePort, destination, destinationPort, length: length)
        default:
            return .invalid("version 1: unknown protocol '\(fields.count >= 2 ? String(fields[1]) : "")' (TCP4, TCP6 or UNKNOWN)")
        }
    }

    private static var tooLong: Result {
        .invalid("version 1: no CRLF within the first \(maximumV1Length) bytes")
    }

    /// An address of the family the line announced, in its canonical form: IPv4 as four decimal
    /// numbers without leading zeros; IPv6 as colon-separated hex groups (`::` once at most).
    private static func v1Address(_ text: Substring, v4: Bool) -> IPAddress? {
        if v4 {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4, parts.allSatisfy({ decimal($0, maximum: 255) != nil }) else { return nil }
        } else {
            // inet_pton also takes an IPv4 tail (`::ffff:1.2.3.4`); the spec's form has hex groups only.
            guard text.contains(":"), text.allSatisfy({ $0 == ":" || $0.isHexDigit }) else { return nil }
        }
        return IPAddress(text)
    }

    private static func v1Port(_ text: Substring) -> Int? { decimal(text, maximum: 65535) }

    /// A decimal number of at most `maximum`, without a sign or leading zeros.
    private static func decimal(_ text: Substring, maximum: Int) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
            text == "0" || !text.hasPrefix("0"), let value = Int(text), value <= maximum
        else { return nil }
        return value
    }

    // MARK: Version 2

    private static func parseV2(_ bytes: [UInt8]) -> Result {
        let compared = min(bytes.count, v2Signature.count)
        guard bytes[..<compared].elementsEqual(v2Signature[..<compared]) else {
            return .invalid("no PROXY protocol header: the connection starts with \(preview(bytes))")
        }
        guard bytes.count > 12 else { return .needMore }
        let version = bytes[12] >> 4
        let command = bytes[12] & 0x0F
        guard version == 2 else { return .invalid("version 2 signature with version \(version)") }
        guard command <= 1 else { return .invalid("version 2: unknown command \(command) (LOCAL 0 or PROXY 1)") }
        guard bytes.count >= 16 else { return .needMore }
        let family = bytes[13] >> 4
        let transport = bytes[13] & 0x0F
        let addressLength = Int(bytes[14]) << 8 | Int(bytes[15])
        guard addressLength <= maximumV2AddressLength else {
            return .invalid("version 2: \(addressLength) bytes of addresses and TLVs, more than \(maximumV2AddressLength)")
        }
        guard bytes.count >= 16 + addressLength else { return .needMore }
        let length = 16 + addressLength
        if command == 0 {
            // LOCAL: the balancer's own connection; the family and any addresses are ignored (§2.2).
            return .header(ProxyProtocolHeader(version: 2, addresses: .unspecified), length: length)
        }
        guard family <= 3 else { return .invalid("version 2: unknown address family \(family)") }
        guard transport <= 2 else { return .invalid("version 2: unknown transport protocol \(transport)") }
        let block = bytes[16..<length]
        // Only TCP (and unix streams) are taken; UNSPEC and UDP fall back to the connection's addresses.
        guard transport == 1, family != 0 else {
            return .header(ProxyProtocolHeader(version: 2, addresses: .unspecified), length: length)
        }
        let needed = [1: 12, 2: 36, 3: 216][Int(family)]!
        guard block.count >= needed else {
            return .invalid("version 2: \(block.count) bytes of addresses, family \(family) needs \(needed)")
        }
        let start = block.startIndex
        switch family {
        case 1, 2:
            let size = family == 1 ? 4 : 16
            let source = IPAddress(bytes: Array(block[start..<start + size]))!
            let destination = IPAddress(bytes: Array(block[start + size..<start + 2 * size]))!
            let ports = start + 2 * size
            let sourcePort = Int(block[ports]) << 8 | Int(block[ports + 1])
            let destinationPort = Int(block[ports + 2]) << 8 | Int(block[ports + 3])
            return inet(version: 2, source, sourcePort, destination, destinationPort, length: length)
        default:
            let source = unixPath(block[start..<start + 108])
            let destination = unixPath(block[start + 108..<start + 216])
            return .header(
                ProxyProtocolHeader(version: 2, addresses: .unix(source: source, destination: destination)),
                length: length)
        }
    }

    private static func unixPath(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    // MARK: Helpers

    /// A header naming TCP endpoints.
    private static func inet(
        version: Int, _ source: IPAddress, _ sourcePort: Int, _ destination: IPAddress, _ destinationPort: Int,
        length: Int
    ) -> Result {
        // An IPAddress is a valid literal by construction, so these cannot fail.
        let addresses = ProxyProtocolHeader.Addresses.inet(
            source: try! SocketAddress(ipAddress: source.description, port: sourcePort),
            destination: try! SocketAddress(ipAddress: destination.description, port: destinationPort))
        return .header(ProxyProtocolHeader(version: version, addresses: addresses), length: length)
    }

    /// The first bytes, printable ones as they are and others as `\xNN`, for the log.
    static func preview(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(16).map { byte in
            byte >= 0x20 && byte < 0x7F && byte != 0x5C
                ? String(UnicodeScalar(byte)) : "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }
        return "'" + shown.joined() + (bytes.count > 16 ? "…" : "") + "'"
    }
}
