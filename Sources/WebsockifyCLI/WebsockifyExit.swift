import NIOConcurrencyHelpers
import Proxy

/// How websockify's own parts end it: a wrapped program that exits (`--wrap-mode=exit`) or cannot
/// start stops the proxy (and so the service group), and websockify exits with its code.
final class WebsockifyExit: Sendable {
    private let server = NIOLockedValueBox<ProxyServer?>(nil)
    private let decided = NIOLockedValueBox<Int32?>(nil)

    /// The exit code decided by ``finish(code:)``, if any.
    var code: Int32? { decided.withLockedValue { $0 } }

    func attach(_ server: ProxyServer) { self.server.withLockedValue { $0 = server } }

    /// Stops the proxy; websockify then exits with `value`.
    func finish(code value: Int32) {
        decided.withLockedValue { $0 = value }
        server.withLockedValue { $0 }?.stop(.requested)
    }
}
