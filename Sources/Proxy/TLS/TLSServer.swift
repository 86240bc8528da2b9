import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import RecordFormat
import ServiceSupport

/// Loaded TLS for the listener: the context new TLS connections get, and the settings it came from.
///
/// It follows its files, as websockify's per-connection reading did: when the certificate, key or CA
/// file changes (seen by their stamps, at most once a second, by a new connection) or on
/// ``reload(logger:)`` (SIGHUP), they are read again and new connections get the new context; open
/// connections keep the one they started with. A version that cannot be used is logged once and the
/// one in service stays (``TLSFileFollower`` decides).
public final class TLSServer: Sendable {
    public let settings: TLSServerSettings
    private let state: NIOLockedValueBox<State>
    private let threadPool: NIOThreadPool

    private struct State {
        var context: NIOSSLContext
        var follower: TLSFileFollower
    }

    init(
        settings: TLSServerSettings, loaded: (context: NIOSSLContext, leaf: NIOSSLCertificate),
        stamps: TLSFileFollower.Stamps, threadPool: NIOThreadPool = .singleton
    ) {
        self.settings = settings
        self.threadPool = threadPool
        self.certificateNote = Self.describe(loaded.leaf)
        state = NIOLockedValueBox(
            State(context: loaded.context, follower: TLSFileFollower(inService: stamps, at: Self.now())))
    }

    /// The certificate first loaded, for the start-up log: serial and end of validity.
    public let certificateNote: String

    /// The context for a connection that just started a TLS handshake. Completes at once, except for
    /// the connection that looks at the files (at most one a second): that one waits for the `stat`s,
    /// and for the reading if they changed, on the thread pool, never on the event loop.
    func contextForNewConnection(on eventLoop: any EventLoop, logger: Logger) -> EventLoopFuture<NIOSSLContext> {
        let now = Self.now()
        let (current, check) = state.withLockedValue { ($0.context, $0.follower.connectionShouldCheck(at: now)) }
        guard check else { return eventLoop.makeSucceededFuture(current) }
        return threadPool.runIfActive(eventLoop: eventLoop) { [self] in
            refresh(forced: false, logger: logger)
        }.recover { _ in current }
    }

    /// Reads the files again now (SIGHUP), whether or not they changed, and logs the outcome; returns
    /// whether a new context is in service. Blocks on file I/O: call it off the event loop.
    @discardableResult
    public func reload(logger: Logger) -> Bool {
        let before = state.withLockedValue { $0.context }
        return refresh(forced: true, logger: logger) !== before
    }

    /// Takes the stamps, reads the files if the follower says so, and returns the context in service.
    private func refresh(forced: Bool, logger: Logger) -> NIOSSLContext {
        let files = settings.followedFiles
        let observed = Self.stamps(of: files)
        let (current, decision) = state.withLockedValue { ($0.context, $0.follower.decide(observed, forced: forced)) }
        guard decision == .load else { return current }
        // A SIGHUP's lines say so: someone is waiting for them.
        let trigger = forced ? "SIGHUP: " : ""
        let fresh: (context: NIOSSLContext, leaf: NIOSSLCertificate)
        do {
            fresh = try settings.makeContext()
        } catch {
            let report = state.withLockedValue { $0.follower.failed(observed, forced: forced) }
            if report {
                logger.error(
                    "\(trigger)\(error.message); new connections keep the certificate in service until the files are fixed")
            }
            return current
        }
        state.withLockedValue {
            $0.context = fresh.context
            $0.follower.loaded(observed)
        }
        logger.info(
            "\(trigger)TLS: certificate read again from \(files.joined(separator: ", ")): \(Self.describe(fresh.leaf)); new connections get it"
        )
        return fresh.context
    }

    /// The files' stamps; nil for one that can't be `stat`ed (its reading will say why).
    static func stamps(of files: [String]) -> TLSFileFollower.Stamps {
        files.map { try? FileStamp.of($0).stamp }
    }

    /// "serial 1A2B…, valid until 2027-03-01T…": the serial as `openssl x509 -serial` prints it.
    static func describe(_ certificate: NIOSSLCertificate) -> String {
        let serial = certificate.serialNumber.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        let until = ISODate.string(wallMicros: Int64(certificate.notValidAfter) * 1_000_000)
        return "serial \(serial), valid until \(until)"
    }

    private static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
}
