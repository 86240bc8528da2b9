import Dispatch
import Proxy
import ServiceLifecycle
import UnixSignals

/// SIGHUP in websockify: the proxy reads its certificate files again (``ProxyServer/reloadFiles()``),
/// and the process goes on (SIGHUP's default would end it).
///
/// A service of websockify's group that runs for the whole life of the group: started first and
/// stopped last (see ``WebsockifyServices/alongside``), so that a SIGHUP while the proxy drains is
/// still a reload.
public struct HangUpReloader: Service {
    let proxy: ProxyServer

    public init(proxy: ProxyServer) {
        self.proxy = proxy
    }

    public func run() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            // Reading the files blocks: not on the concurrency pool.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    proxy.reloadFiles()
                    done.resume()
                }
            }
        }
    }
}
