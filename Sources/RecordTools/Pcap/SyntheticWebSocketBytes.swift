import RecordFormat
import WebSocketWire

/// The WebSocket bytes of a synthesized capture (RFC 6455): an opening handshake with the sample key
/// of §1.3 and frames rebuilt from recorded ones; pcapng export puts them in TCP segments.
public enum SyntheticWebSocketBytes {
    /// The sample key of RFC 6455 §1.3 and its accept value, so no SHA-1 is needed.
    static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    /// The masking key of the examples in RFC 6455 §5.7, used for every client frame.
    public static let defaultMaskKey: MaskKey = (0x37, 0xFA, 0x21, 0x3D)

    /// The client's upgrade request (RFC 6455 §4.1).
    public static func upgradeRequest(path: String, host: String, subprotocol: String?) -> [UInt8] {
        var text = "GET \(path.isEmpty ? "/" : path) HTTP/1.1\r\n"
        text += "Host: \(host)\r\n"
        text += "Upgrade: websocket\r\n"
        text += "Connection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(sampleKey)\r\n"
        text += "Sec-WebSocket-Version: 13\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// The server's 101 response (RFC 6455 §4.2.2).
    public static func upgradeResponse(subprotocol: String?) -> [UInt8] {
        var text = "HTTP/1.1 101 Switching Protocols\r\n"
        text += "Upgrade: websocket\r\n"
        text += "Connection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(sampleAccept)\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// A frame with `frame`'s FIN bit, opcode and payload (RFC 6455 §5.2), masked with `maskKey`
    /// when one is given (client frames must be masked, server frames must not). The header is
    /// WebSocketWire's ``FrameHeader``, the one the proxy writes too.
    public static func encode(_ frame: Frame, maskKey: MaskKey?) -> [UInt8] {
        let payload = frame.payload
        let header = FrameHeader(fin: frame.isFinal, opcode: frame.opcode, maskKey: maskKey, payloadLength: payload.count)
        var out = header.bytes
        guard let maskKey else { return out + payload }
        let headerSize = out.count
        out += payload
        out.withUnsafeMutableBytes { bytes in
            let body = UnsafeMutableRawBufferPointer(rebasing: bytes[headerSize...])
            WebSocketUnmask.apply(key: maskKey, offset: 0, source: UnsafeRawBufferPointer(body), destination: body)
        }
        return out
    }
}
