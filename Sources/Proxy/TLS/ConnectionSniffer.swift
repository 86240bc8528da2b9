import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// First handler of every accepted connection: looks at the first bytes and sets the connection
/// up as TLS (inserting the TLS handler), answers a Flash policy request, or lets plain HTTP through
/// (unless `--ssl-only`), then steps aside.
final class ConnectionSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let tlsHandlerName = "tls"

    private let tls: TLSServer?
    private let logger: Logger
    private var buffered: ByteBuffer?
    private var decided = false
    /// TLS was chosen and the context is being looked up (the files are being checked): what
    /// arrives meanwhile is kept for the TLS handler.
    private var awaitingContext = false

    /// The client a balancer's PROXY protocol header named, for the log lines.
    private var client: String?

    init(tls: TLSServer?, logger: Logger) {
        self.tls = tls
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let header = event as? ProxyProtocolHeader { client = header.sourceDescription }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if awaitingContext {
            buffered!.writeBuffer(&incoming)
            return
        }
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        let bytes = buffered!
        let peer = client ?? context.channel.remoteAddress.map(describe) ?? "?"
        switch FirstBytes.classify(bytes.readableBytesView) {
        case .needMore:
            return
        case .flashPolicyRequest where tls?.settings.sslOnly == true:
            decided = true
            logger.info("\(peer): plain connection refused (--ssl-only)")
            context.close(promise: nil)
        case .flashPolicyRequest:
            decided = true
            logger.debug("\(peer): Flash policy request answered")
            var answer = context.channel.allocator.buffer(capacity: FirstBytes.policyResponse.utf8.count)
            answer.writeString(FirstBytes.policyResponse)
            let channel = context.channel
            context.writeAndFlush(NIOAny(answer)).whenComplete { _ in channel.close(promise: nil) }
        case .tls:
            decided = true
            guard let tls else {
                logger.info("\(peer): TLS connection refused: no certificate (give one with --cert)")
                context.close(promise: nil)
                return
            }
            // The certificate in service now; completes at once unless this connection is the one
            // that looks at the files (at most one a second).
            awaitingContext = true
            tls.contextForNewConnection(on: context.eventLoop, logger: logger).assumeIsolated().whenSuccess {
                self.startTLS(context: context, with: $0, peer: peer)
            }
        case .plain:
            decided = true
            if let tls, tls.settings.sslOnly {
                logger.info("\(peer): plain connection refused (--ssl-only)")
                context.answerAndClose(.forbidden, "This port only accepts TLS (https:// and wss://).")
                return
            }
            passOn(context: context)
        }
    }

    private func startTLS(context: ChannelHandlerContext, with sslContext: NIOSSLContext, peer: String) {
        awaitingContext = false
        guard context.channel.isActive else { return }
        do {
            try context.pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(context: sslContext), name: Self.tlsHandlerName, position: .after(self))
        } catch {
            logger.error("\(peer): cannot set up TLS: \(error)")
            context.close(promise: nil)
            return
        }
        passOn(context: context)
    }

    /// Hands what was read to the next handler and leaves the pipeline.
    private func passOn(context: ChannelHandlerContext) {
        if let bytes = buffered {
            buffered = nil
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
