import NIOHTTP1
import Proxy

/// `ExpectOrigin --auth-source='https://a https://b'`: only requests whose `Origin` header is one
/// of the listed origins (exactly) pass; others, and requests without one, get 403.
public struct ExpectOrigin: RequestAuthenticator {
    public let origins: [String]

    /// `source`: origins separated by white space.
    public init(source: String) throws(ProxyError) {
        origins = try AuthPlugins.list(source, plugin: "ExpectOrigin", needs: "the allowed origins, e.g. 'https://a https://b'")
    }

    public func authenticate(_ request: ConnectionRequest) -> RequestRefusal? {
        let origin = request.head.headers.first(name: "origin")
        if let origin, origins.contains(origin) { return nil }
        return RequestRefusal(
            status: .forbidden, message: "Invalid Origin.",
            logMessage: "invalid Origin \(origin.map(LogText.quoted) ?? "(none)"); expected one of \(origins.joined(separator: " "))")
    }
}
