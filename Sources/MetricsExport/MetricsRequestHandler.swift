import NIOCore
import NIOHTTP1

/// Answers one connection's requests to the metrics endpoint: `GET /metrics` (and `HEAD`) with the
/// registry's text exposition, 405 for other methods there, 404 for every other path. Kept-alive
/// connections (Prometheus keeps its scrape connection open) get one answer per request.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The exposition format's content type (Prometheus text format 0.0.4).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    static let path = "/metrics"

    private let registry: MetricsRegistry
    private var head: HTTPRequestHead?

    init(registry: MetricsRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            answer(context: context, head)
        }
    }

    private func answer(context: ChannelHandlerContext, _ request: HTTPRequestHead) {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var headers = HTTPHeaders()
        let status: HTTPResponseStatus
        var body: [UInt8]
        switch (path == Self.path, request.method) {
        case (true, .GET), (true, .HEAD):
            status = .ok
            headers.add(name: "Content-Type", value: Self.contentType)
            body = registry.exposition()
        case (true, _):
            status = .methodNotAllowed
            headers.add(name: "Allow", value: "GET, HEAD")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            body = Array("Only GET is served here.\n".utf8)
        case (false, _):
            status = .notFound
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            body = Array("Not found: metrics are at \(Self.path).\n".utf8)
        }
        headers.add(name: "Content-Length", value: "\(body.count)")
        if request.method == .HEAD { body = [] }
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        var response = HTTPResponseHead(version: request.version, status: status, headers: headers)
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
