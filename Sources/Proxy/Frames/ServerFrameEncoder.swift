import NIOCore
import RecordFormat

/// Builds the frames the proxy sends to a client: unmasked, never fragmented (RFC 6455 §5.2).
public enum ServerFrameEncoder {
    /// The 2–10 byte header for a final frame with `opcode` and a payload of `length` bytes.
    public static func header(opcode: Opcode, length: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 10)
        out.writeInteger(UInt8(0x80 | opcode.rawValue))
        if length < 126 {
            out.writeInteger(UInt8(length))
        } else if length <= 0xFFFF {
            out.writeInteger(UInt8(126))
            out.writeInteger(UInt16(length))
        } else {
            out.writeInteger(UInt8(127))
            out.writeInteger(UInt64(length))
        }
        return out
    }

    /// A close frame payload: the code and a reason cut to fit the 125-byte control limit.
    public static func closePayload(code: UInt16?, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 125)
        guard let code else { return out }
        out.writeInteger(code)
        var reasonBytes = Array(reason.utf8.prefix(123))
        // Don't cut a multi-byte character in half (continuation bytes are 0b10xxxxxx).
        while let last = reasonBytes.last, String(validating: reasonBytes, as: UTF8.self) == nil, last & 0x80 != 0 {
            reasonBytes.removeLast()
        }
        out.writeBytes(reasonBytes)
        return out
    }
}
