/// The header of a WebSocket frame (RFC 6455 §5.2): 2 to 14 bytes before the payload.
///
/// Parsing and encoding work on raw bytes, so the proxy (on `ByteBuffer`s), the pcapng exporter (on
/// arrays) and tests share one definition of the wire layout.
public struct FrameHeader: Sendable, Equatable {
    /// The FIN bit: the last frame of its message.
    public var fin: Bool
    /// RSV1–RSV3 as a 3-bit value (bit 2 is RSV1); non-zero only with an extension.
    public var rsv: UInt8
    public var opcode: Opcode
    /// The masking key (client frames), nil for an unmasked frame.
    public var maskKey: MaskKey?
    /// The payload length. A parsed 64-bit length above `Int.max` is clamped to `Int.max`.
    public var payloadLength: Int

    /// The longest header: 2 bytes, a 64-bit length and the masking key.
    public static let maximumSize = 14

    public init(fin: Bool = true, rsv: UInt8 = 0, opcode: Opcode, maskKey: MaskKey? = nil, payloadLength: Int) {
        precondition(payloadLength >= 0, "negative payload length")
        self.fin = fin
        self.rsv = rsv & 0x7
        self.opcode = opcode
        self.maskKey = maskKey
        self.payloadLength = payloadLength
    }

    /// The header's size on the wire.
    @inlinable
    public var encodedSize: Int {
        let lengthSize = payloadLength < 126 ? 0 : (payloadLength <= 0xFFFF ? 2 : 8)
        return 2 + lengthSize + (maskKey == nil ? 0 : 4)
    }

    /// Writes the header to the start of `destination` (at least ``encodedSize`` bytes) and returns
    /// the number of bytes written. Lengths use the shortest form, as RFC 6455 §5.2 requires.
    @inlinable
    public func encode(into destination: UnsafeMutableRawBufferPointer) -> Int {
        precondition(destination.count >= encodedSize, "frame header buffer too small")
        destination[0] = (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | opcode.rawValue
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var index: Int
        if payloadLength < 126 {
            destination[1] = maskBit | UInt8(payloadLength)
            index = 2
        } else if payloadLength <= 0xFFFF {
            destination[1] = maskBit | 126
            destination.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            index = 4
        } else {
            destination[1] = maskBit | 127
            destination.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            index = 10
        }
        if let maskKey {
            destination[index] = maskKey.0
            destination[index + 1] = maskKey.1
            destination[index + 2] = maskKey.2
            destination[index + 3] = maskKey.3
            index += 4
        }
        return index
    }

    /// The header's bytes.
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.maximumSize) { buffer, count in
            count = encode(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// What ``parse(_:)`` found at the start of some bytes.
    public enum ParseResult: Sendable, Equatable {
        /// Not all of the header is there yet.
        case incomplete
        /// A header of `size` bytes.
        case header(FrameHeader, size: Int)
        /// A 64-bit length with its most significant bit set (RFC 6455 §5.2 forbids it); `size` is
        /// the bytes the header took up to its length.
        case invalidLength(size: Int)
    }

    /// Parses the header at the start of `bytes`. Only the layout is checked here; whether the
    /// header is acceptable (masking, reserved bits, control frame rules) is the reader's business.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard bytes.count >= 2 else { return .incomplete }
        let b0 = bytes[0]
        let b1 = bytes[1]
        var index = 2
        var length = UInt64(b1 & 0x7F)
        if length == 126 {
            guard bytes.count >= 4 else { return .incomplete }
            length = UInt64(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            index = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return .incomplete }
            length = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            index = 10
            if length & (1 << 63) != 0 { return .invalidLength(size: index) }
        }
        var key: MaskKey?
        if b1 & 0x80 != 0 {
            guard bytes.count >= index + 4 else { return .incomplete }
            key = (bytes[index], bytes[index + 1], bytes[index + 2], bytes[index + 3])
            index += 4
        }
        let header = FrameHeader(
            fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 0x7, opcode: Opcode(rawValue: b0 & 0x0F), maskKey: key,
            payloadLength: length > UInt64(Int.max) ? Int.max : Int(length))
        return .header(header, size: index)
    }

    public static func == (a: FrameHeader, b: FrameHeader) -> Bool {
        a.fin == b.fin && a.rsv == b.rsv && a.opcode == b.opcode && a.payloadLength == b.payloadLength
            && a.maskKey.map { [$0.0, $0.1, $0.2, $0.3] } == b.maskKey.map { [$0.0, $0.1, $0.2, $0.3] }
    }
}

/// A frame's four masking-key bytes, in wire order (RFC 6455 §5.3).
public typealias MaskKey = (UInt8, UInt8, UInt8, UInt8)
