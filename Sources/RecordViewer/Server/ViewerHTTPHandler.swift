import NIOCore
import NIOHTTP1
import NIOPosix

/// Answers each HTTP request with ``ViewerAPI``; the answer is computed on a thread pool (a
/// stream response decompresses and copies megabytes) and written back on the channel's loop.
/// Pipelined requests are answered in order: NIO's `HTTPServerPipelineHandler` (part of
/// `configureHTTPServerPipeline`) hands this handler the next request only after the answer
/// before it has ended.
final class ViewerHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: ViewerAPI
    private let threadPool: NIOThreadPool
    private var head: HTTPRequestHead?

    private let hostCheck: ViewerHostCheck

    init(api: ViewerAPI, threadPool: NIOThreadPool, hostCheck: ViewerHostCheck) {
        self.api = api
        self.threadPool = threadPool
        self.hostCheck = hostCheck
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break  // GET only: a body is ignored
        case .end:
            guard let head else { return }
            self.head = nil
            let api = self.api
            let method = head.method.rawValue
            let uri = head.uri
            let keepAlive = head.isKeepAlive
            let version = head.version
            let hosts = head.headers["Host"]
            guard hostCheck.allows(hosts) else {
                let response = ViewerResponse.error(
                    403,
                    "Host \(hosts.map { "'\($0.prefix(100))'" }.joined(separator: ", ")) is not this viewer's address "
                        + "(a guard against DNS rebinding): open http://127.0.0.1:\(hostCheck.port)/ or "
                        + "http://localhost:\(hostCheck.port)/")
                Self.write(response, version: version, keepAlive: keepAlive, context: context)
                return
            }
            let loop = context.eventLoop
            let bound = NIOLoopBound(context, eventLoop: loop)
            threadPool.runIfActive(eventLoop: loop) { api.respond(method: method, target: uri) }
                .whenComplete { result in
                    let response = (try? result.get()) ?? ViewerResponse.error(503, "shutting down")
                    Self.write(response, version: version, keepAlive: keepAlive, context: bound.value)
                }
        }
    }

    private static func write(_ response: ViewerResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
