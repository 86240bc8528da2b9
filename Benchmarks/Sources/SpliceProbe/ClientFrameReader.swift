import Glibc
import WebSocketWire

/// Client → target: reads client frames, checks what RFC 6455 requires of them (masked §5.1, no
/// reserved bits without an extension §5.2, control frames final and at most 125 bytes §5.5),
/// unmasks data payloads in place and writes them to the target; answers ping with pong and close
/// with close. The normal read/unmask/write path, the same in both modes.
struct ClientFrameReader {
    var client: Int32
    var target: Int32
    var writer: ClientWriter

    /// How the client side ended, for the session's log line.
    enum Ending: CustomStringConvertible {
        case closeFrame(code: UInt16?)
        case endOfStream
        case protocolError(String)
        case failure(ProbeSocket.Failure)

        var description: String {
            switch self {
            case .closeFrame(let code): "close frame" + (code.map { " \($0)" } ?? "")
            case .endOfStream: "end of stream"
            case .protocolError(let why): "protocol error: \(why)"
            case .failure(let failure): failure.description
            }
        }
    }

    static let bufferSize = 256 * 1024

    func run(leftover: [UInt8]) -> (bytes: Int, ending: Ending) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        var queue = ByteWindow(buffer: buffer)
        queue.append(leftover)
        var forwarded = 0
        do {
            while true {
                guard case .header(let header, let size) = FrameHeader.parse(queue.bytes) else {
                    if case .invalidLength = FrameHeader.parse(queue.bytes) {
                        return (forwarded, try refuse("64-bit length with its top bit set"))
                    }
                    guard try queue.fill(from: client) else { return (forwarded, .endOfStream) }
                    continue
                }
                guard let key = header.maskKey else { return (forwarded, try refuse("unmasked client frame")) }
                guard header.rsv == 0 else { return (forwarded, try refuse("reserved bits set")) }
                queue.consume(size)
                switch header.opcode {
                case .binary, .text, .continuation:
                    forwarded += try forward(payloadLength: header.payloadLength, key: key, &queue)
                case .ping, .pong, .close:
                    guard header.fin, header.payloadLength <= 125 else {
                        return (forwarded, try refuse("fragmented or long control frame"))
                    }
                    while queue.count < header.payloadLength {
                        guard try queue.fill(from: client) else { return (forwarded, .endOfStream) }
                    }
                    var payload = [UInt8](queue.bytes.prefix(header.payloadLength))
                    queue.consume(header.payloadLength)
                    payload.withUnsafeMutableBytes {
                        WebSocketUnmask.apply(key: key, offset: 0, source: UnsafeRawBufferPointer($0), destination: $0)
                    }
                    if header.opcode == .ping {
                        try writer.sendControl(.pong, payload: payload)
                    } else if header.opcode == .close {
                        let code = payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
                        // Echo the status code (§5.5.1); a close without one is answered without one.
                        try writer.sendControl(.close, payload: Array(payload.prefix(2)))
                        return (forwarded, .closeFrame(code: code))
                    }
                default:
                    return (forwarded, try refuse("unknown opcode \(header.opcode.rawValue)"))
                }
            }
        } catch let failure as ProbeSocket.Failure {
            return (forwarded, .failure(failure))
        } catch {
            return (forwarded, .failure(ProbeSocket.Failure("\(error)", errno: EIO)))
        }
    }

    /// Streams one data frame's payload to the target, unmasking as it goes.
    private func forward(payloadLength: Int, key: MaskKey, _ queue: inout ByteWindow) throws -> Int {
        var offset = 0
        while offset < payloadLength {
            if queue.count == 0 {
                guard try queue.fill(from: client) else { throw ProbeSocket.Failure("client ended inside a frame", errno: EPIPE) }
            }
            let take = min(queue.count, payloadLength - offset)
            let piece = queue.mutableBytes(take)
            WebSocketUnmask.apply(key: key, offset: offset, source: UnsafeRawBufferPointer(piece), destination: piece)
            try ProbeSocket.writeAll(target, UnsafeRawBufferPointer(piece))
            queue.consume(take)
            offset += take
        }
        return payloadLength
    }

    /// Closes with 1002 (§7.4.1) and says why.
    private func refuse(_ why: String) throws -> Ending {
        try writer.sendClose(CloseCode.protocolError)
        return .protocolError(why)
    }
}
