import Logging
import NIOCore
import NIOHTTP1
import RecordFormat

/// Answers the opening HTTP request: refuses with a clear status, or switches protocols and hands
/// the connection to a ``WebSocketSessionHandler`` (RFC 6455 §4.2).
///
/// This replaces NIO's upgrader so that every refusal gets an answer (the upgrader leaves a
/// refused client hanging unless another handler responds) with the precise status code.
final class HandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let decoderName = "http-decoder"
    static let encoderName = "http-encoder"
    static let limitName = "header-limit"

    private let server: ServerContext
    private var head: HTTPRequestHead?
    private var done = false
    private var timeout: Scheduled<Void>?

    init(server: ServerContext) { self.server = server }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let peer = "\(channel.remoteAddress.map(describe) ?? "?")"
        let logger = server.logger
        let seconds = server.configuration.handshakeTimeout
        timeout = context.eventLoop.scheduleTask(in: seconds) {
            logger.debug("handshake timeout: dropping \(peer)")
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            // Refusals are answered at once (a body that never comes must not delay them);
            // an upgrade waits for the request's end so the parser can be removed cleanly.
            if case .reject = HandshakeDecision.decide(h, subprotocols: subprotocols) {
                done = true
                respond(context: context, head: h)
            } else {
                head = h
            }
        case .body:
            break
        case .end:
            guard let head else { return }
            done = true
            respond(context: context, head: head)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !done else { return }
        done = true
        // Malformed HTTP: answer 400 before closing, as a web server would.
        server.logger.debug("bad HTTP request from \(context.channel.remoteAddress.map(describe) ?? "?"): \(error)")
        reject(context: context, status: .badRequest, headers: [:], message: "Malformed HTTP request.")
    }

    /// The subprotocols on offer: a session backend's choice, else the proxy's.
    private var subprotocols: [String] {
        server.configuration.sessionBackend?.subprotocolPreference() ?? HandshakeDecision.supportedSubprotocols
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let client = context.channel.remoteAddress.map(describe) ?? "?"
        switch HandshakeDecision.decide(head, subprotocols: subprotocols) {
        case .reject(let status, let headers, let message):
            server.logger.info("\(client): \(head.method) \(head.uri) refused: \(status.code) \(message)")
            reject(context: context, status: status, headers: headers, message: message)
        case .accept(let headers, let subprotocol, let mode):
            server.logger.debug(
                "\(client): WebSocket upgrade \(head.uri) accepted, subprotocol \(subprotocol ?? "none"), headers: \(head.headers.map { "\($0.name): \($0.value)" }.joined(separator: "; "))"
            )
            accept(context: context, head: head, headers: headers, subprotocol: subprotocol, mode: mode)
        }
    }

    private func reject(
        context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, message: String
    ) {
        var all = headers
        let body = message + "\n"
        all.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        all.add(name: "Content-Length", value: "\(body.utf8.count)")
        all.add(name: "Connection", value: "close")
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: all))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func accept(
        context: ChannelHandlerContext, head: HTTPRequestHead, headers: HTTPHeaders, subprotocol: String?,
        mode: PayloadMode
    ) {
        timeout?.cancel()
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))),
            promise: nil)
        let sessionInfo = WebSocketSessionHandler.Info(
            clientAddress: context.channel.remoteAddress.map(describe) ?? "?",
            listenAddress: context.channel.localAddress.map(describe) ?? "?",
            requestPath: head.uri, subprotocol: subprotocol, mode: mode)
        do {
            let sync = context.pipeline.syncOperations
            let limiter = try sync.handler(type: HeaderLimitHandler.self)
            let session = WebSocketSessionHandler(
                server: server, info: sessionInfo, initialBytes: limiter.takeHeldBytes())
            // Relaying paces reads itself from here on (see WebSocketSessionHandler).
            try context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            try sync.addHandler(session, position: .after(self))
            sync.removeHandler(context: context, promise: nil)
            sync.removeHandler(context: try sync.context(name: Self.encoderName), promise: nil)
            sync.removeHandler(context: try sync.context(name: Self.limitName), promise: nil)
            // The parser saw only the request head, so it has nothing left to forward.
            sync.removeHandler(context: try sync.context(name: Self.decoderName), promise: nil)
        } catch {
            server.logger.error("\(sessionInfo.clientAddress): cannot set up the WebSocket pipeline: \(error)")
            context.close(promise: nil)
        }
    }
}

/// `1.2.3.4:80` or `[::1]:80` (or the socket path) for logs and records.
func describe(_ address: SocketAddress) -> String {
    switch address {
    case .v4:
        return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    case .v6:
        return "[\(address.ipAddress ?? "?")]:\(address.port ?? 0)"
    case .unixDomainSocket:
        return "unix:\(address.pathname ?? "?")"
    }
}
