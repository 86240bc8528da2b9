import NIOCore

/// The target connection's end of a session: hands bytes and events to the session handler.
final class TargetRelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let session: NIOLoopBound<WebSocketSessionHandler>
    private var error: (any Error)?

    init(session: NIOLoopBound<WebSocketSessionHandler>) { self.session = session }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.value.targetRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        session.value.targetReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        session.value.targetWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.value.targetInactive(error: error)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.error = error
        context.close(promise: nil)
    }
}
