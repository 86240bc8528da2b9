import NIOHTTP1
import NIOCore
import NIOPosix
import Proxy

/// One short Redis conversation: connect, send the commands in one write, collect one reply per
/// command, close. Fails on connect errors, timeouts, early EOF and protocol errors.
enum RedisExchange {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(
        _ commands: [[String]], host: String, port: Int, connectTimeout: TimeAmount, answerTimeout: TimeAmount,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<[RESP.Value]> {
        let promise = eventLoop.makePromise(of: [RESP.Value].self)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ReplyCollector(expected: commands.count, promise: promise))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    promise.fail(Failure(description: "cannot connect: \(socketErrorText(error))"))
                case .success(let channel):
                    var buffer = channel.allocator.buffer(capacity: 128)
                    for command in commands { RESP.encode(command: command, into: &buffer) }
                    channel.writeAndFlush(buffer, promise: nil)
                    let timeout = channel.eventLoop.scheduleTask(in: answerTimeout) {
                        promise.fail(Failure(description: "no answer within \(answerTimeout.nanoseconds / 1_000_000) ms"))
                    }
                    promise.futureResult.whenComplete { _ in
                        timeout.cancel()
                        channel.close(promise: nil)
                    }
                }
            }
        return promise.futureResult
    }

    /// Decodes replies until `expected` have arrived.
    private final class ReplyCollector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let expected: Int
        private let promise: EventLoopPromise<[RESP.Value]>
        private var buffer = ByteBuffer()
        private var replies: [RESP.Value] = []

        init(expected: Int, promise: EventLoopPromise<[RESP.Value]>) {
            self.expected = expected
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            do {
                while replies.count < expected, let reply = try RESP.decode(&buffer) { replies.append(reply) }
            } catch {
                promise.fail(Failure(description: "\(error)"))
                return
            }
            if replies.count == expected { promise.succeed(replies) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "connection closed after \(replies.count) of \(expected) replies"))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(Failure(description: "\(error)"))
            context.close(promise: nil)
        }
    }
}
