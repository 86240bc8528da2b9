import NIOCore

/// Builds raw client frames for tests, including malformed ones.
func clientFrame(
    opcode: UInt8, payload: [UInt8] = [], fin: Bool = true, rsv: UInt8 = 0, masked: Bool = true,
    key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D], declaredLength: UInt64? = nil
) -> ByteBuffer {
    var out = ByteBuffer()
    out.writeInteger(UInt8((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0x0F)))
    let length = declaredLength ?? UInt64(payload.count)
    let maskBit: UInt8 = masked ? 0x80 : 0
    if declaredLength != nil || length > 0xFFFF {
        out.writeInteger(maskBit | 127)
        out.writeInteger(length)
    } else if length >= 126 {
        out.writeInteger(maskBit | 126)
        out.writeInteger(UInt16(length))
    } else {
        out.writeInteger(maskBit | UInt8(length))
    }
    if masked {
        out.writeBytes(key)
        out.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
    } else {
        out.writeBytes(payload)
    }
    return out
}

func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
}
