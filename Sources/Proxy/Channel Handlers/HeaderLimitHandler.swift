import NIOCore
import NIOHTTP1

/// Sits before the HTTP parser during the handshake and answers 431 to header blocks over the
/// limit, so an endless header never reaches (or grows) the parser's buffer.
final class HeaderLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var limit: HeaderBlockLimit
    private var refused = false

    init(limit: Int) { self.limit = HeaderBlockLimit(limit: limit) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        switch limit.feed(buffer.readableBytesView) {
        case .withinLimit:
            context.fireChannelRead(data)
        case .complete:
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case .exceeded:
            refused = true
            let body = "Request header block larger than \(limit.limit) bytes.\n"
            let response =
                "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            var out = context.channel.allocator.buffer(capacity: response.utf8.count)
            out.writeString(response)
            let channel = context.channel
            context.writeAndFlush(NIOAny(out)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
