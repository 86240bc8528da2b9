import NIOCore
import WebSocketWire

/// Builds the frames the proxy sends to a client: unmasked, never fragmented (RFC 6455 §5.2).
public enum ServerFrameEncoder {
    /// The 2–10 byte header for a final frame with `opcode` and a payload of `length` bytes;
    /// `compressed` sets RSV1 (a permessage-deflate message, RFC 7692 §6).
    public static func header(
        opcode: Opcode, length: Int, compressed: Bool = false, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let header = FrameHeader(
            rsv: compressed ? ClientFrameStateMachine.rsv1 : 0, opcode: opcode, payloadLength: length)
        var out = allocator.buffer(capacity: FrameHeader.maximumSize)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: FrameHeader.maximumSize) { header.encode(into: $0) }
        return out
    }

    /// A close frame payload: the code and a reason cut to fit the 125-byte control limit.
    public static func closePayload(code: UInt16?, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 125)
        out.writeBytes(CloseCode.payload(code: code, reason: reason))
        return out
    }
}
