import NIOHTTP1
import Proxy

/// `ClientCertCNAuth --auth-source='CN1 CN2'` (with `--verify-client`): only clients whose
/// verified TLS certificate has one of the listed common names pass; others get 403.
///
/// The names come from ``ConnectionRequest/verifiedClientCommonNames`` alone, which the TLS layer
/// fills from the certificate it verified. Request headers are never consulted: websockify 0.13
/// read an `SSL_CLIENT_S_DN_CN` header, which a client without a certificate could send itself.
public struct ClientCertCNAuth: RequestAuthenticator {
    public let commonNames: [String]

    /// `source`: common names separated by white space.
    public init(source: String) throws(ProxyError) {
        commonNames = try AuthPlugins.list(source, plugin: "ClientCertCNAuth", needs: "the allowed common names")
    }

    public func authenticate(_ request: ConnectionRequest) -> RequestRefusal? {
        let names = request.verifiedClientCommonNames
        if names.contains(where: commonNames.contains) { return nil }
        return RequestRefusal(
            status: .forbidden, message: "A client certificate with an allowed common name is required.",
            logMessage: names.isEmpty
                ? "no verified client certificate (ClientCertCNAuth needs TLS with --verify-client)"
                : "client certificate CN \(names.map(LogText.quoted).joined(separator: ", ")) not allowed")
    }
}
