import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import RecordFormat

/// Answers the HTTP requests on the proxy's port: checks auth, serves web requests (`--web`,
/// several on one kept-alive connection), refuses with a clear status, or switches protocols and
/// hands the connection to a ``WebSocketSessionHandler`` (RFC 6455 §4.2).
///
/// This replaces NIO's upgrader so that every refusal gets an answer (the upgrader leaves a
/// refused client hanging unless another handler responds) with the precise status code.
final class HandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let decoderName = "http-decoder"
    static let encoderName = "http-encoder"
    static let limitName = "header-limit"

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Got the head of a request to answer once it has ended.
        case reading(ConnectionRequest)
        /// Answering a web request or looking up a target; further parts wait in ``queued``.
        case busy
        /// Answered for good: the connection closes or became a WebSocket session.
        case done
    }

    private let server: ServerContext
    private var state = State.idle
    /// Request parts that arrived while busy (pipelined requests on a kept-alive connection).
    private var queued: [HTTPServerRequestPart] = []
    private var timeout: Scheduled<Void>?
    /// What the balancer's PROXY protocol header said (`--proxy-protocol`), once it was read.
    private var proxyHeader: ProxyProtocolHeader?
    /// When the head of the request being answered arrived (the handshake time's start).
    private var requestArrived = NIODeadline.now()
    /// Whether the connection is counted by the server's ``ConnectionLimiter`` (until it closes).
    private var counted = false

    init(server: ServerContext) { self.server = server }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let header = event as? ProxyProtocolHeader { proxyHeader = header }
        context.fireUserInboundEventTriggered(event)
    }

    /// The client for logs before a request names it: the PROXY protocol's source, else the peer.
    private func clientForLog(_ channel: any Channel) -> String {
        proxyHeader?.sourceDescription ?? channel.remoteAddress.map(describe) ?? "?"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armTimeout(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
    }

    /// Drops the connection if no complete request arrives in time (also between kept-alive requests).
    private func armTimeout(context: ChannelHandlerContext) {
        timeout?.cancel()
        let channel = context.channel
        let peer = clientForLog(channel)
        let logger = server.logger
        let metrics = server.configuration.metrics
        timeout = context.eventLoop.scheduleTask(in: server.configuration.timeouts.handshake) {
            logger.debug("request timeout: dropping \(peer)")
            metrics?.handshakeTimedOut()
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handle(context: context, part: unwrapInboundIn(data))
    }

    private func handle(context: ChannelHandlerContext, part: HTTPServerRequestPart) {
        switch (state, part) {
        case (.done, _):
            return
        case (.busy, _):
            queued.append(part)
        case (.idle, .head(let head)):
            requestArrived = .now()
            let request = makeRequest(context: context, head: head)
            // Refusals are answered at once (a body that never comes must not delay them); other
            // requests wait for their end so the parser can be removed cleanly.
            if let refusal = earlyRefusal(request) {
                // Only a WebSocket request is a refused session; a plain request is no session at all.
                let reason: ProxyMetrics.RefusalReason? = request.isWebSocketUpgrade ? .badHandshake : nil
                refuse(context: context, request: request, refusal, reason: reason)
            } else if admitted(context: context, request: request) {
                state = .reading(request)
            }
        case (.reading(let request), .end):
            state = .busy
            timeout?.cancel()
            if let health = healthCheck(for: request) {
                answerHealthCheck(context: context, request: request, health)
            } else if request.isWebSocketUpgrade {
                upgrade(context: context, request: request)
            } else {
                serveWeb(context: context, request: request)
            }
        case (.reading, .body), (.idle, .body), (.idle, .end), (.reading, .head):
            // A body is ignored (GET and HEAD have none worth reading); stray parts can't happen
            // with NIO's parser.
            return
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let peer = clientForLog(context.channel)
        switch state {
        case .done:
            return
        case .idle, .reading:
            if error is HTTPParserError {
                // Malformed HTTP: answer 400 before closing, as a web server would.
                server.logger.debug("bad HTTP request from \(peer): \(error)")
                server.configuration.metrics?.refused(.badHandshake)
                state = .done
                reject(context: context, RequestRefusal(status: .badRequest, message: "Malformed HTTP request."))
                return
            }
        case .busy:
            break
        }
        // A reset, a TLS failure, or trouble while a response is being written: nothing to answer.
        server.logger.debug("connection from \(peer) failed: \(error)")
        if case .idle = state, ProxyMetrics.isTLSHandshakeFailure(error) { server.configuration.metrics?.refused(.tls) }
        state = .done
        context.close(promise: nil)
    }

    /// What `head` says about itself and what the connection says about its client.
    private func makeRequest(context: ChannelHandlerContext, head: HTTPRequestHead) -> ConnectionRequest {
        let addresses = ClientAddresses.resolve(
            peer: context.channel.remoteAddress, proxyHeader: proxyHeader, headers: head.headers,
            balancer: server.configuration.balancer)
        var request = ConnectionRequest(head: head, clientAddress: addresses.client, viaAddress: addresses.via)
        if let tlsHandler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
            request.isTLS = true
            // Only a certificate that TLS verified counts (with --verify-client the handshake fails
            // without one); nothing the client sends in the request can set these.
            if server.configuration.tls?.settings.verifyClient == true, let certificate = tlsHandler.peerCertificate {
                request.verifiedClientCommonNames = certificate.subjectName.filter { $0.type == .commonName }.map(\.value)
            }
        }
        return request
    }

    /// The subprotocols on offer: a session backend's choice, else the proxy's.
    private var subprotocols: [String] {
        if case .backend(let provider) = server.configuration.upstream { return provider.subprotocolPreference() }
        return HandshakeDecision.supportedSubprotocols
    }

    /// A refusal that needs no more than the request head: malformed upgrades, and plain requests
    /// when there is no web server.
    private func earlyRefusal(_ request: ConnectionRequest) -> RequestRefusal? {
        let head = request.head
        if head.method == .CONNECT {
            // The parser switches to tunnel mode after CONNECT: nothing more can be read.
            return RequestRefusal(
                status: .methodNotAllowed, headers: ["Allow": "GET, HEAD"], message: "CONNECT is not served here.")
        }
        if Self.hasBody(head) {
            // Only the head reaches the parser (see HeaderLimitHandler): a body would never end.
            return head.method == .GET || head.method == .HEAD
                ? RequestRefusal(status: .badRequest, message: "Request bodies are not accepted.")
                : RequestRefusal(
                    status: .methodNotAllowed, headers: ["Allow": "GET, HEAD"],
                    message: "Only GET and HEAD are served.")
        }
        if healthCheck(for: request) != nil { return nil }
        if !request.isWebSocketUpgrade, server.configuration.webResponder != nil { return nil }
        if case .reject(let status, let headers, let message) = HandshakeDecision.decide(
            request.head, subprotocols: subprotocols)
        {
            return RequestRefusal(status: status, headers: headers, message: message)
        }
        return nil
    }

    /// A request announcing a body: a non-zero Content-Length, or any Transfer-Encoding.
    static func hasBody(_ head: HTTPRequestHead) -> Bool {
        if head.headers.contains(name: "transfer-encoding") { return true }
        return head.headers["content-length"].contains { $0.trimmingSpaces != "0" }
    }

    /// The request's headers for the `-v` log, with credentials and the key masked.
    static func loggableHeaders(_ headers: HTTPHeaders) -> String {
        let secret: Set<String> = ["authorization", "proxy-authorization", "cookie", "sec-websocket-key"]
        return headers.map { "\($0.name): \(secret.contains($0.name.lowercased()) ? "(\($0.value.utf8.count) bytes, not logged)" : $0.value)" }
            .joined(separator: "; ")
    }

    /// Answers `refusal` and closes; a refused WebSocket session is counted by `reason` (nil: not a session).
    private func refuse(
        context: ChannelHandlerContext, request: ConnectionRequest, _ refusal: RequestRefusal,
        reason: ProxyMetrics.RefusalReason?
    ) {
        state = .done
        if let reason { server.configuration.metrics?.refused(reason) }
        // A token store that is down is the operator's to fix, not the client's doing.
        server.logger.log(
            level: reason == .tokenStoreDown ? .warning : .info,
            "\(request.clientAddress): \(request.head.method) \(request.head.uri) refused: \(refusal.status.code) \(refusal.logMessage)"
        )
        reject(context: context, refusal)
    }

    /// Counts the connection against `--max-connections`/`--max-connections-per-ip` at its first
    /// counted request head (the health path is never counted nor refused); false when over a limit,
    /// after answering 503 with Retry-After.
    private func admitted(context: ChannelHandlerContext, request: ConnectionRequest) -> Bool {
        guard !counted, let limiter = server.connectionLimiter, healthCheck(for: request) == nil else { return true }
        guard let refusal = limiter.admit(context.channel, clientAddress: request.clientAddress) else {
            counted = true
            return true
        }
        state = .done
        if request.isWebSocketUpgrade { server.configuration.metrics?.refused(refusal.reason) }
        if let line = refusal.infoLine { server.logger.info("\(line)") } else { server.logger.debug("\(refusal.debugLine)") }
        reject(context: context, refusal.answer)
        return false
    }

    private func serveWeb(context: ChannelHandlerContext, request: ConnectionRequest) {
        guard let web = server.configuration.webResponder else { return }
        if server.configuration.authenticateWebRequests, let authenticator = server.configuration.authenticator,
            let refusal = authenticator.authenticate(request)
        {
            refuse(context: context, request: request, refusal, reason: nil)
            return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        web.respond(to: request, channel: context.channel).hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            handler.webResponseDone(context: context, keepAlive: (try? result.get()) ?? false)
        }
    }

    private func webResponseDone(context: ChannelHandlerContext, keepAlive: Bool) {
        guard case .busy = state else { return }
        guard keepAlive, context.channel.isActive else {
            state = .done
            context.close(promise: nil)
            return
        }
        state = .idle
        armTimeout(context: context)
        let pending = queued
        queued = []
        for part in pending { handle(context: context, part: part) }
        // Bytes held behind the previous request head are parsed now.
        if let limiter = try? context.pipeline.syncOperations.context(name: Self.limitName),
            let handler = limiter.handler as? HeaderLimitHandler
        {
            handler.nextRequest(context: limiter)
        }
    }

    private func upgrade(context: ChannelHandlerContext, request: ConnectionRequest) {
        if let authenticator = server.configuration.authenticator, let refusal = authenticator.authenticate(request) {
            refuse(context: context, request: request, refusal, reason: .auth)
            return
        }
        guard
            case .accept(let headers, let subprotocol, let mode) = HandshakeDecision.decide(
                request.head, subprotocols: subprotocols)
        else { return }
        let resolver: any TargetResolver
        switch server.configuration.upstream {
        case .fixed(let target):
            accept(context: context, request: request, headers: headers, subprotocol: subprotocol, mode: mode, target: target)
            return
        case .backend:
            accept(context: context, request: request, headers: headers, subprotocol: subprotocol, mode: mode, target: nil)
            return
        case .resolver(let chosen):
            resolver = chosen
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let lookupStarted = NIODeadline.now()
        resolver.resolveTarget(for: request, on: context.eventLoop)
            .hop(to: context.eventLoop)
            .whenComplete { [metrics = server.configuration.metrics, plugin = resolver.pluginName] result in
                let (handler, context) = bound.value
                let failure: (any Error)? = if case .failure(let error) = result { error } else { nil }
                metrics?.tokenLookup(
                    plugin: plugin, nanoseconds: (NIODeadline.now() - lookupStarted).nanoseconds, error: failure)
                let reason = failure.map(ProxyMetrics.refusalReason(forLookupFailure:))
                switch result {
                case .success(let target):
                    handler.accept(
                        context: context, request: request, headers: headers, subprotocol: subprotocol, mode: mode,
                        target: target)
                case .failure(let refusal as RequestRefusal):
                    handler.refuse(context: context, request: request, refusal, reason: reason)
                case .failure(let error):
                    handler.refuse(
                        context: context, request: request,
                        RequestRefusal(
                            status: .badGateway, message: "Cannot look up the target for this request.",
                            logMessage: "target lookup failed: \(error)"),
                        reason: reason)
                }
            }
    }

    private func reject(context: ChannelHandlerContext, _ refusal: RequestRefusal) {
        var all = refusal.headers
        let body = refusal.message + "\n"
        all.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        all.add(name: "Content-Length", value: "\(body.utf8.count)")
        all.add(name: "Connection", value: "close")
        let channel = context.channel
        writeResponse(context: context, status: refusal.status, headers: all, body: body).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Writes a whole response whose body (if any) is `body`; the future completes once it is flushed.
    private func writeResponse(
        context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, body: String?
    ) -> EventLoopFuture<Void> {
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if let body {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        return context.writeAndFlush(wrapOutboundOut(.end(nil)))
    }

    /// The health check `request` asks for (`--health-path`), if it is one.
    private func healthCheck(for request: ConnectionRequest) -> HealthCheck? {
        guard let health = server.configuration.healthCheck,
            health.matches(request.head, isWebSocketUpgrade: request.isWebSocketUpgrade)
        else { return nil }
        return health
    }

    /// Answers the health path in the server's current phase, with no auth (a balancer has no
    /// credentials); logged at debug level only, since a balancer asks every few seconds. The
    /// connection is kept for another request while the server accepts and the client wants it.
    private func answerHealthCheck(context: ChannelHandlerContext, request: ConnectionRequest, _ health: HealthCheck) {
        let phase = server.phase
        let answer = health.answer(to: request.head, in: phase)
        server.logger.debug(
            "\(request.clientAddress): \(request.head.method) \(request.head.uri): \(answer.status.code) (health path, \(phase))")
        let body = request.head.method == .HEAD ? nil : answer.body
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        writeResponse(context: context, status: answer.status, headers: answer.headers, body: body).whenComplete { _ in
            let (handler, context) = bound.value
            handler.webResponseDone(context: context, keepAlive: answer.keepAlive)
        }
    }

    private func accept(
        context: ChannelHandlerContext, request: ConnectionRequest, headers: HTTPHeaders, subprotocol: String?,
        mode: PayloadMode, target: ProxyConfiguration.Target?
    ) {
        guard context.channel.isActive else { return }
        state = .done
        var headers = headers
        let deflate =
            server.configuration.compression == .auto
            ? PerMessageDeflate.negotiate(request.head.headers["sec-websocket-extensions"]) : nil
        if let deflate { headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeaderValue) }
        server.logger.debug(
            "\(request.clientAddress): WebSocket upgrade \(request.head.uri) accepted, subprotocol \(subprotocol ?? "none"), headers: \(Self.loggableHeaders(request.head.headers))"
        )
        context.writeAndFlush(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))),
            promise: nil)
        server.configuration.metrics?.handshakeCompleted(nanoseconds: (NIODeadline.now() - requestArrived).nanoseconds)
        let sessionInfo = WebSocketSessionHandler.Info(
            clientAddress: request.clientAddress, viaAddress: request.viaAddress,
            listenAddress: context.channel.localAddress.map(describe) ?? "?",
            requestPath: request.head.uri, subprotocol: subprotocol, target: target, tls: request.isTLS, mode: mode,
            deflate: deflate)
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
