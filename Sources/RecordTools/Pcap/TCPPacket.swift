/// Builds IPv4 or IPv6 packets carrying one TCP segment, with correct checksums
/// (RFC 791 header checksum, RFC 9293 §3.1 TCP checksum over the pseudo-header).
public enum TCPPacket {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let fin = Flags(rawValue: 0x01)
        public static let syn = Flags(rawValue: 0x02)
        public static let psh = Flags(rawValue: 0x08)
        public static let ack = Flags(rawValue: 0x10)
    }

    static let headerLength = 20
    /// The window every synthesized segment advertises (no window scaling).
    static let window: UInt16 = 65_535

    /// One packet from `source` to `destination` (both IPv4 or both IPv6).
    public static func make(
        from source: IPEndpoint, to destination: IPEndpoint, sequence: UInt32, acknowledgment: UInt32, flags: Flags,
        payload: ArraySlice<UInt8> = [], identification: UInt16 = 0
    ) -> [UInt8] {
        var tcp: [UInt8] = []
        tcp.reserveCapacity(headerLength + payload.count)
        tcp.appendBE(source.port)
        tcp.appendBE(destination.port)
        tcp.appendBE(sequence)
        tcp.appendBE(flags.contains(.ack) ? acknowledgment : 0)
        tcp.append(UInt8(headerLength / 4) << 4)
        tcp.append(flags.rawValue)
        tcp.appendBE(window)
        tcp.appendBE(UInt16(0))  // checksum, filled in below
        tcp.appendBE(UInt16(0))  // urgent pointer
        tcp.append(contentsOf: payload)

        var pseudo = source.address + destination.address
        if source.isIPv6 {
            pseudo.appendBE(UInt32(tcp.count))
            pseudo += [0, 0, 0, 6]
        } else {
            pseudo += [0, 6]
            pseudo.appendBE(UInt16(tcp.count))
        }
        let checksum = internetChecksum(tcp, initial: onesComplementSum(pseudo))
        tcp[16] = UInt8(checksum >> 8)
        tcp[17] = UInt8(checksum & 0xFF)

        var packet: [UInt8] = []
        if source.isIPv6 {
            packet.reserveCapacity(40 + tcp.count)
            packet += [0x60, 0, 0, 0]  // version 6, traffic class 0, flow label 0
            packet.appendBE(UInt16(tcp.count))
            packet += [6, 64]  // next header TCP, hop limit
            packet += source.address + destination.address
        } else {
            packet.reserveCapacity(20 + tcp.count)
            packet += [0x45, 0]  // version 4, IHL 5; DSCP 0
            packet.appendBE(UInt16(20 + tcp.count))
            packet.appendBE(identification)
            packet.appendBE(UInt16(0x4000))  // don't fragment
            packet += [64, 6, 0, 0]  // TTL, protocol TCP, checksum placeholder
            packet += source.address + destination.address
            let checksum = internetChecksum(packet)
            packet[10] = UInt8(checksum >> 8)
            packet[11] = UInt8(checksum & 0xFF)
        }
        packet += tcp
        return packet
    }

    /// The RFC 1071 Internet checksum of `bytes` (big-endian 16-bit words, odd byte padded).
    public static func internetChecksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt16 {
        var sum = onesComplementSum(bytes, initial: initial)
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    private static func onesComplementSum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        var sum = UInt64(initial)
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt64(bytes[i]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return UInt32(sum)
    }
}

extension Array where Element == UInt8 {
    /// Network byte order, as IP and TCP headers use.
    mutating func appendBE<T: FixedWidthInteger>(_ value: T) {
        var v = value.bigEndian
        Swift.withUnsafeBytes(of: &v) { self.append(contentsOf: $0) }
    }
}

/// One synthesized packet and when it was seen.
public struct SyntheticPacket: Sendable, Equatable {
    /// µs since the Unix epoch.
    public var timestampMicros: UInt64
    /// The IP packet, starting with its IPv4 or IPv6 header.
    public var data: [UInt8]
    /// A packet comment for Wireshark (e.g. that the payload is redaction filler), or nil.
    public var comment: String? = nil
}

/// Both ends of a synthesized TCP connection and their sequence numbers: a handshake, data
/// segments each acknowledged by the peer, and a FIN exchange.
struct TCPConnection {
    enum Side { case initiator, responder }

    let initiator: IPEndpoint
    let responder: IPEndpoint
    /// Largest TCP payload per packet; larger writes are split.
    let maximumSegment: Int
    private var nextSequence: [UInt32]  // [initiator, responder]
    private var identification: [UInt16] = [0, 0]
    private var finished: [Bool] = [false, false]
    private(set) var isOpen = false

    init(initiator: IPEndpoint, responder: IPEndpoint, initialSequences: (UInt32, UInt32), maximumSegment: Int) {
        self.initiator = initiator
        self.responder = responder
        self.maximumSegment = maximumSegment
        nextSequence = [initialSequences.0, initialSequences.1]
    }

    private func index(_ side: Side) -> Int { side == .initiator ? 0 : 1 }

    private mutating func packet(_ side: Side, _ flags: TCPPacket.Flags, _ payload: ArraySlice<UInt8>, _ time: UInt64)
        -> SyntheticPacket
    {
        let me = index(side)
        let (source, destination) = side == .initiator ? (initiator, responder) : (responder, initiator)
        let data = TCPPacket.make(
            from: source, to: destination, sequence: nextSequence[me], acknowledgment: nextSequence[1 - me],
            flags: flags, payload: payload, identification: identification[me])
        identification[me] &+= 1
        var advance = UInt32(truncatingIfNeeded: payload.count)
        if flags.contains(.syn) { advance &+= 1 }
        if flags.contains(.fin) { advance &+= 1 }
        nextSequence[me] &+= advance
        return SyntheticPacket(timestampMicros: time, data: data)
    }

    /// SYN, SYN-ACK, ACK.
    mutating func open(at time: UInt64) -> [SyntheticPacket] {
        isOpen = true
        return [
            packet(.initiator, .syn, [], time), packet(.responder, [.syn, .ack], [], time),
            packet(.initiator, .ack, [], time),
        ]
    }

    /// `bytes` from `side`, in segments of at most ``maximumSegment`` bytes, each acknowledged.
    mutating func send(_ bytes: [UInt8], from side: Side, at time: UInt64) -> [SyntheticPacket] {
        guard isOpen, !finished[index(side)], !bytes.isEmpty else { return [] }
        var packets: [SyntheticPacket] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + maximumSegment)
            packets.append(packet(side, [.ack, .psh], bytes[start..<end], time))
            packets.append(packet(side == .initiator ? .responder : .initiator, .ack, [], time))
            start = end
        }
        return packets
    }

    /// FIN from `side`, FIN from the other side, last ACK.
    mutating func close(from side: Side, at time: UInt64) -> [SyntheticPacket] {
        guard isOpen, !finished[0], !finished[1] else { return [] }
        finished = [true, true]
        let other: Side = side == .initiator ? .responder : .initiator
        return [
            packet(side, [.fin, .ack], [], time), packet(other, [.fin, .ack], [], time), packet(side, .ack, [], time),
        ]
    }
}
