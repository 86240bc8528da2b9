import NIOCore
import NIOHTTP1

/// Sits before the HTTP parser during the handshake. It answers 431 to header blocks over the limit,
/// so an endless header never reaches (or grows) the parser's buffer, and it passes the parser only
/// the request head: bytes after it (frames a client sends right behind its request) are held here
/// for the session, because NIO removes a parser only in a later loop tick, and an EOF read in
/// between would make the parser drop them.
final class HeaderLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var limit: HeaderBlockLimit
    private var refused = false
    private var headComplete = false
    /// Bytes that followed the request head.
    private var held: ByteBuffer?

    init(limit: Int) { self.limit = HeaderBlockLimit(limit: limit) }

    /// Hands over the bytes that followed the request head.
    func takeHeldBytes() -> ByteBuffer? {
        defer { held = nil }
        return held
    }

    /// After a web response on a kept-alive connection: starts counting the next request's header
    /// block, and passes on what arrived behind the previous request.
    func nextRequest(context: ChannelHandlerContext) {
        guard !refused else { return }
        limit = HeaderBlockLimit(limit: limit.limit)
        headComplete = false
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        if var pending = takeHeldBytes(), pending.readableBytes > 0 {
            channelRead(context: context, data: wrapInboundOut(pending.readSlice(length: pending.readableBytes)!))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        var buffer = unwrapInboundIn(data)
        if headComplete {
            hold(&buffer)
            return
        }
        switch limit.feed(buffer.readableBytesView) {
        case .withinLimit:
            context.fireChannelRead(data)
        case .complete(let used):
            headComplete = true
            // No more reading until this request is answered: what a client sends meanwhile waits
            // in the kernel (TCP backpressure), not here. ``nextRequest`` and the WebSocket session
            // read on.
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            let head = buffer.readSlice(length: used)!
            hold(&buffer)
            context.fireChannelRead(wrapInboundOut(head))
        case .exceeded:
            refused = true
            context.answerAndClose(.requestHeaderFieldsTooLarge, "Request header block larger than \(limit.limit) bytes.")
        }
    }

    private func hold(_ buffer: inout ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        if held == nil {
            held = buffer
        } else {
            held!.writeBuffer(&buffer)
        }
    }
}
