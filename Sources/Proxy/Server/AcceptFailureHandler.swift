import Logging
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Sits on the listening channel: after a failed `accept(2)` (out of descriptors, EMFILE or
/// ENFILE) it stops accepting for ``retry`` and logs what happened through ``AcceptFailureReporter``.
///
/// A listener out of descriptors stays readable (the connections wait in the backlog), so without
/// a pause the event loop calls `accept` in a busy loop at 100 % CPU. NIO's own
/// `AcceptBackoffHandler` cannot stop that here (NIO 2.101): it delays the `read()` that follows
/// the error, but NIO issues none when no connection at all was accepted in that wake-up, and the
/// socket stays registered for reading. Switching `autoRead` off does unregister it; switching it
/// back on after ``retry`` registers it again.
final class AcceptFailureHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    /// How long accepting pauses after a failure. 100 ms: the retries cost nothing measurable, and
    /// once descriptors are free again the connections waiting in the backlog are taken at once.
    static let defaultRetry = TimeAmount.milliseconds(100)

    private let logger: Logger
    private let sessions: @Sendable () -> Int
    private let retry: TimeAmount
    private var reporter = AcceptFailureReporter()
    private var resume: Scheduled<Void>?

    init(logger: Logger, sessions: @escaping @Sendable () -> Int, retry: TimeAmount = defaultRetry) {
        self.logger = logger
        self.sessions = sessions
        self.retry = retry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let notice = reporter.accepted(at: NIODeadline.now().uptimeNanoseconds) {
            log(notice)
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The listening channel stays open on these (NIO's ServerSocketChannel); other errors close it.
        guard let io = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(io.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        if let notice = reporter.failed(errno: io.errnoCode, at: NIODeadline.now().uptimeNanoseconds) {
            log(notice)
        }
        pause(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let pending = resume {
            pending.cancel()
            resume = nil
            setAutoRead(true, context: context)
        }
    }

    private func pause(context: ChannelHandlerContext) {
        guard resume == nil else { return }
        setAutoRead(false, context: context)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: retry) { [self] in
            resume = nil
            setAutoRead(true, context: context)
        }
    }

    private func setAutoRead(_ on: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if let options = context.channel.syncOptions {
            try? options.setOption(ChannelOptions.autoRead, value: on)
        } else {
            context.channel.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
        }
    }

    private func log(_ notice: AcceptFailureReporter.Notice) {
        let text = AcceptFailureReporter.message(
            for: notice, limit: AcceptFailureReporter.openFileLimit(), sessions: sessions(),
            retry: UInt64(retry.nanoseconds))
        switch notice {
        case .cannotAccept: logger.warning("\(text)")
        case .acceptingAgain: logger.notice("\(text)")
        }
    }
}
