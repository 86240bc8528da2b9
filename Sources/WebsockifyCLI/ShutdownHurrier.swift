import Proxy
import ServiceLifecycle
import UnixSignals

/// A second SIGTERM or SIGINT in websockify shortens the proxy's shutdown (``ProxyServer/hurry()``:
/// the lame duck and the drain end at once, the sessions get 1001 now; a third cuts them). The
/// service group shuts down on the first one and reads no more signals after it.
///
/// A service of websockify's group that runs for the whole life of the group, like
/// ``HangUpReloader``: started first and stopped last, so that it still hears signals while the
/// proxy drains.
public struct ShutdownHurrier: Service {
    let proxy: ProxyServer
    let signals: [UnixSignal]

    public init(proxy: ProxyServer, signals: [UnixSignal] = WebsockifyServices.shutdownSignals) {
        self.proxy = proxy
        self.signals = signals
    }

    public func run() async {
        let caught = await UnixSignalsSequence(trapping: signals)
        var count = 0
        for await _ in caught.cancelOnGracefulShutdown() {
            // The first one is the group's: it starts the shutdown.
            count += 1
            if count > 1 { proxy.hurry() }
        }
    }
}
