import NIOCore
import NIOHTTP1

extension ChannelHandlerContext {
    /// Writes a whole plain-text HTTP/1.1 response as raw bytes and closes the connection once it is
    /// sent: for handlers in front of the HTTP encoder (header limit, `--ssl-only`).
    func answerAndClose(_ status: HTTPResponseStatus, _ message: String) {
        let body = message + "\n"
        let response =
            "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        var out = channel.allocator.buffer(capacity: response.utf8.count)
        out.writeString(response)
        let channel = self.channel
        writeAndFlush(NIOAny(out)).whenComplete { _ in channel.close(promise: nil) }
    }
}
