import NIOCore
import NIOHTTP1
import Proxy
import WebSocketWire

/// One connection of the echo server: the RFC 6455 handshake with the proxy's own permessage-deflate
/// negotiation, then every message echoed whole, with its type, through the proxy's own frame parser
/// (``ClientFrameStateMachine``: unmasking, inflation, UTF-8, limits) and deflater
/// (``PerMessageDeflater``: the adaptive policy included). Pings are answered, a close is echoed, and a
/// protocol error gets the close code the proxy would send.
final class DeflateEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case handshake(ByteBuffer)
        case open(ClientFrameStateMachine, PerMessageDeflater?)
        case closed
    }

    private static let maxMessageSize = 64 << 20
    private static let maxRequestHead = 16 << 10

    private var state = State.handshake(ByteBuffer())
    /// The data message in progress: its type and its (inflated) bytes so far.
    private var messageOpcode: Opcode?
    private var message = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        switch state {
        case .handshake(var head):
            head.writeBuffer(&bytes)
            guard let length = Self.headLength(head) else {
                if head.readableBytes > Self.maxRequestHead {
                    refuse(context: context, status: .badRequest, "request head too long")
                } else {
                    state = .handshake(head)
                }
                return
            }
            let text = head.readString(length: length) ?? ""
            guard let deflate = upgrade(context: context, requestHead: text) else { return }
            let machine = ClientFrameStateMachine(
                maxMessageSize: Self.maxMessageSize, mode: .binary, allocator: context.channel.allocator,
                deflate: deflate)
            state = .open(machine, deflate.map { PerMessageDeflater(parameters: $0) })
            if head.readableBytes > 0 { frames(context: context, &head) }
        case .open:
            frames(context: context, &bytes)
        case .closed:
            break
        }
    }

    /// Answers the upgrade as the proxy decides it (``HandshakeDecision``: method, version, key,
    /// upgrade tokens), with the negotiated extension; a refusal gets the proxy's status and message.
    /// Returns the extension agreed (nil inside: none), or nil when refused.
    private func upgrade(context: ChannelHandlerContext, requestHead: String) -> PerMessageDeflate?? {
        let lines = requestHead.split(separator: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(name: Self.trimmed(line[..<colon]), value: Self.trimmed(line[line.index(after: colon)...]))
        }
        guard requestLine.count == 3 else {
            refuse(context: context, status: .badRequest, "not an HTTP request")
            return nil
        }
        let head = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: String(requestLine[0])), uri: String(requestLine[1]),
            headers: headers)
        switch HandshakeDecision.decide(head, subprotocols: []) {
        case .reject(let status, _, let message):
            refuse(context: context, status: status, message)
            return nil
        case .accept(let answer, _, _):
            let deflate = PerMessageDeflate.negotiate(headers["sec-websocket-extensions"])
            var response = "HTTP/1.1 101 Switching Protocols\r\n"
            for (name, value) in answer { response += "\(name): \(value)\r\n" }
            if let deflate { response += "Sec-WebSocket-Extensions: \(deflate.responseHeaderValue)\r\n" }
            response += "\r\n"
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response)), promise: nil)
            return .some(deflate)
        }
    }

    /// The length of the request head up to and with its blank line, once it is all there.
    private static func headLength(_ head: ByteBuffer) -> Int? {
        let bytes = head.readableBytesView
        guard bytes.count >= 4 else { return nil }
        var index = bytes.startIndex
        while index + 4 <= bytes.endIndex {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                return index + 4 - bytes.startIndex
            }
            index += 1
        }
        return nil
    }

    private static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    private func refuse(context: ChannelHandlerContext, status: HTTPResponseStatus, _ reason: String) {
        state = .closed
        let response =
            "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Length: \(reason.utf8.count)\r\nConnection: close\r\n\r\n\(reason)"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: response))).whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func frames(context: ChannelHandlerContext, _ bytes: inout ByteBuffer) {
        guard case .open(var machine, let deflater) = state else { return }
        defer { if case .open = state { state = .open(machine, deflater) } }
        while true {
            switch machine.next(&bytes) {
            case .needMoreData:
                context.flush()
                return
            case .data(let opcode, let isFinal, var payload, _):
                if opcode != .continuation { messageOpcode = opcode }
                message.writeBuffer(&payload)
                if isFinal, let type = messageOpcode {
                    echo(context: context, opcode: type, deflater: deflater)
                    messageOpcode = nil
                    message.clear()
                }
            case .ping(let payload):
                send(context: context, opcode: .pong, payload: payload)
            case .pong:
                break
            case .close(let code, let reason, _):
                close(context: context, code: code, reason: reason)
                return
            case .fail(let code, let reason):
                close(context: context, code: code, reason: reason)
                return
            }
        }
    }

    private func echo(context: ChannelHandlerContext, opcode: Opcode, deflater: PerMessageDeflater?) {
        if let compressed = deflater?.compress(message, allocator: context.channel.allocator) {
            send(context: context, opcode: opcode, payload: compressed, compressed: true)
        } else {
            send(context: context, opcode: opcode, payload: message)
        }
    }

    private func send(context: ChannelHandlerContext, opcode: Opcode, payload: ByteBuffer, compressed: Bool = false) {
        let header = ServerFrameEncoder.header(
            opcode: opcode, length: payload.readableBytes, compressed: compressed, allocator: context.channel.allocator)
        context.write(wrapOutboundOut(header), promise: nil)
        context.write(wrapOutboundOut(payload), promise: nil)
    }

    private func close(context: ChannelHandlerContext, code: UInt16?, reason: String) {
        state = .closed
        let payload = ServerFrameEncoder.closePayload(code: code, reason: reason, allocator: context.channel.allocator)
        let header = ServerFrameEncoder.header(
            opcode: .close, length: payload.readableBytes, allocator: context.channel.allocator)
        context.write(wrapOutboundOut(header), promise: nil)
        context.writeAndFlush(wrapOutboundOut(payload)).whenComplete { _ in context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
