import CoreMetrics
import NIOCore
import NIOHTTP1
import NIOSSL

/// What the handshake counts: refusals by reason, handshake times, token lookups.
extension ProxyMetrics {
    /// The 101 went out `nanoseconds` after the request head arrived.
    func handshakeCompleted(nanoseconds: Int64) {
        handshakeDuration.recordNanoseconds(nanoseconds)
    }

    /// A connection was dropped for sending no complete request within `timeouts.handshake`.
    func handshakeTimedOut() {
        handshakeTimeouts.increment()
    }

    /// A token lookup of `plugin` took `nanoseconds` and found a target (`error` nil) or failed.
    func tokenLookup(plugin: String, nanoseconds: Int64, error: (any Error)?) {
        let result: LookupResult =
            switch error.map(Self.refusalReason(forLookupFailure:)) {
            case nil: .found
            case .unknownToken: .unknown
            case .tokenStoreDown: .storeDown
            default: .refused
            }
        tokenLookups(plugin: plugin, result: result).increment()
        tokenLookupDuration(plugin: plugin).recordNanoseconds(nanoseconds)
    }

    /// Why a failed token lookup refuses the session: by the status token plugins give each kind of
    /// problem (404 unknown token; 502/503 the store failed or is down; 400/403 no or a bad token),
    /// and any error that is not a refusal means the store failed.
    static func refusalReason(forLookupFailure error: any Error) -> RefusalReason {
        guard let refusal = error as? RequestRefusal else { return .tokenStoreDown }
        switch refusal.status.code {
        case 404: return .unknownToken
        case 502, 503: return .tokenStoreDown
        default: return .badToken
        }
    }

    /// Whether `error`, caught before any request was read, is a failed TLS handshake.
    static func isTLSHandshakeFailure(_ error: any Error) -> Bool {
        if case .handshakeFailed = error as? NIOSSLError { return true }
        return error is BoringSSLError
    }
}
