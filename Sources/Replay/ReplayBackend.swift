import NIOCore
import Proxy
import RecordFormat

/// Connects a ``ReplayEngine`` to a proxy session: feeds it the client's bytes and the clock, and
/// performs its actions (send, wait on a timer, close). Lives on the session's event loop.
final class ReplayBackend: SessionBackend {
    private var engine: ReplayEngine
    private var driver: SessionDriver?
    private var timer: Scheduled<Void>?
    private var pumping = false
    private var pumpAgain = false
    private var finished = false
    private let clock: @Sendable () -> UInt64
    private let onEnd: @Sendable (SessionResult) -> Void

    init(
        engine: ReplayEngine, clock: @escaping @Sendable () -> UInt64,
        onEnd: @escaping @Sendable (SessionResult) -> Void
    ) {
        self.engine = engine
        self.clock = clock
        self.onEnd = onEnd
    }

    func start(_ driver: SessionDriver) {
        self.driver = driver
        pump()
    }

    func clientData(_ bytes: ByteBuffer) {
        engine.clientData(Array(bytes.readableBytesView), nowNanos: clock())
        pump()
    }

    func clientWritabilityChanged(isWritable: Bool) {
        if isWritable { pump() }
    }

    func ended(_ close: SessionClose) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        timer = nil
        engine.ended(clientClosed: close.closedBy == .client, code: close.code, nowNanos: clock())
        driver = nil
        onEnd(engine.result)
    }

    /// Runs the engine until it has to wait. A call made while it runs (a flush can make the client
    /// writable again synchronously) makes it run once more.
    private func pump() {
        guard !pumping else {
            pumpAgain = true
            return
        }
        pumping = true
        repeat {
            pumpAgain = false
            pumpOnce()
        } while pumpAgain && !finished
        pumping = false
    }

    private func pumpOnce() {
        guard !finished, let driver else { return }
        let allocator = ByteBufferAllocator()
        while !finished {
            switch engine.next(nowNanos: clock(), clientWritable: driver.isWritable) {
            case .send(let bytes):
                var buffer = allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                driver.send(buffer)
            case .wait(let until):
                driver.flush()
                schedule(at: until, on: driver.eventLoop)
                return
            case .waitForWritable:
                driver.flush()
                return
            case .close(let code, let reason):
                driver.flush()
                driver.close(code: code, reason: reason)
                return
            case .done:
                driver.flush()
                return
            }
        }
    }

    private func schedule(at nanos: UInt64, on loop: any EventLoop) {
        timer?.cancel()
        let bound = NIOLoopBound(self, eventLoop: loop)
        timer = loop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(nanos)) {
            let backend = bound.value
            backend.timer = nil
            backend.pump()
        }
    }
}
