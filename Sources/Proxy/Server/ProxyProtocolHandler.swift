import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// First handler of every connection with `--proxy-protocol`: reads the PROXY protocol header a
/// balancer puts before the client's bytes (before TLS too), sends it on as a user inbound event
/// (a ``ProxyProtocolHeader``), passes on what followed it, and leaves the pipeline. A connection
/// that does not start with a valid header is closed. A header that never completes is cut by the
/// handshake timeout, which runs from the moment the connection is accepted.
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let logger: Logger
    private let refusals: NIOLockedValueBox<ProxyProtocolRefusalReporter>
    private var buffered: ByteBuffer?
    private var decided = false

    init(logger: Logger, refusals: NIOLockedValueBox<ProxyProtocolRefusalReporter>) {
        self.logger = logger
        self.refusals = refusals
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        buffered.setOrWriteBuffer(&incoming)
        switch ProxyProtocolParser.parse(buffered!.readableBytesView) {
        case .needMore:
            return
        case .invalid(let why):
            decided = true
            buffered = nil
            refuse(context: context, why: why)
        case .header(let header, let length):
            decided = true
            var rest = buffered!
            buffered = nil
            rest.moveReaderIndex(forwardBy: length)
            let peer = context.channel.remoteAddress.map(describe) ?? "?"
            logger.debug(
                "\(peer): PROXY protocol version \(header.version): client \(header.sourceDescription ?? "not given (the connection's own address applies)")"
            )
            context.fireUserInboundEventTriggered(header)
            if rest.readableBytes > 0 {
                context.fireChannelRead(wrapInboundOut(rest))
                context.fireChannelReadComplete()
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private func refuse(context: ChannelHandlerContext, why: String) {
        let peer = context.channel.remoteAddress.map(describe) ?? "?"
        let now = DispatchTime.now().uptimeNanoseconds
        if let count = refusals.withLockedValue({ $0.refused(at: now) }) {
            logger.info("\(ProxyProtocolRefusalReporter.message(peer: peer, why: why, count: count))")
        } else {
            logger.debug("\(peer): connection closed: no valid PROXY protocol header: \(why)")
        }
        context.close(promise: nil)
    }
}
