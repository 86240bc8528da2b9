import RecordFormat

/// Encodes pcapng blocks (draft-ietf-opsawg-pcapng: Section Header, Interface Description and
/// Enhanced Packet Blocks), little-endian, as Wireshark and tshark read them.
public enum Pcapng {
    /// LINKTYPE_RAW: each packet starts with its IPv4 or IPv6 header (no link layer).
    public static let linkTypeRaw: UInt16 = 101

    static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    static let interfaceDescriptionType: UInt32 = 1
    static let enhancedPacketType: UInt32 = 6
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D

    /// A Section Header Block naming the application that wrote the file (option shb_userappl).
    public static func sectionHeader(application: String) -> [UInt8] {
        var body: [UInt8] = []
        body.appendLE(byteOrderMagic)
        body.appendLE(UInt16(1))  // major version
        body.appendLE(UInt16(0))  // minor version
        body.appendLE(Int64(-1))  // section length: not given
        appendOption(4, Array(application.utf8), to: &body)  // shb_userappl
        appendEndOfOptions(to: &body)
        return block(sectionHeaderType, body)
    }

    /// An Interface Description Block with microsecond timestamps (if_tsresol 6).
    public static func interfaceDescription(linkType: UInt16, name: String, snapLength: UInt32 = 262_144) -> [UInt8] {
        var body: [UInt8] = []
        body.appendLE(linkType)
        body.appendLE(UInt16(0))  // reserved
        body.appendLE(snapLength)
        appendOption(2, Array(name.utf8), to: &body)  // if_name
        appendOption(9, [6], to: &body)  // if_tsresol: 10^-6 s
        appendEndOfOptions(to: &body)
        return block(interfaceDescriptionType, body)
    }

    /// An Enhanced Packet Block for interface 0 with a timestamp in µs since the Unix epoch.
    public static func enhancedPacket(timestampMicros: UInt64, data: [UInt8], comment: String? = nil) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(data.count + 32)
        body.appendLE(UInt32(0))  // interface id
        body.appendLE(UInt32(truncatingIfNeeded: timestampMicros >> 32))
        body.appendLE(UInt32(truncatingIfNeeded: timestampMicros))
        body.appendLE(UInt32(data.count))  // captured length
        body.appendLE(UInt32(data.count))  // original length
        body.append(contentsOf: data)
        pad(&body)
        if let comment {
            appendOption(1, Array(comment.utf8), to: &body)  // opt_comment
            appendEndOfOptions(to: &body)
        }
        return block(enhancedPacketType, body)
    }

    private static func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        let total = UInt32(12 + body.count)
        var out: [UInt8] = []
        out.reserveCapacity(Int(total))
        out.appendLE(type)
        out.appendLE(total)
        out.append(contentsOf: body)
        out.appendLE(total)
        return out
    }

    private static func appendOption(_ code: UInt16, _ value: [UInt8], to body: inout [UInt8]) {
        body.appendLE(code)
        body.appendLE(UInt16(min(value.count, Int(UInt16.max) - 3)))
        body.append(contentsOf: value.prefix(Int(UInt16.max) - 3))
        pad(&body)
    }

    private static func appendEndOfOptions(to body: inout [UInt8]) { body.appendLE(UInt32(0)) }

    private static func pad(_ bytes: inout [UInt8]) {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }
}
