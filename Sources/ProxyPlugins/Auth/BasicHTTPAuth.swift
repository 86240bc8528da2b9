import Foundation
import NIOHTTP1
import Proxy

/// `BasicHTTPAuth --auth-source=user:password`: HTTP Basic authentication (RFC 7617).
///
/// No or wrong credentials: 401 with `WWW-Authenticate: Basic realm="websockify"`, so browsers
/// ask; an `Authorization` header that is not Basic or not decodable: 403, as in websockify.
/// Credentials are compared in constant time.
public struct BasicHTTPAuth: RequestAuthenticator {
    private let expected: [UInt8]

    /// `source` is `user:password` (the password may contain colons).
    public init(source: String) throws(ProxyError) {
        guard let colon = source.firstIndex(of: ":"), colon != source.startIndex else {
            throw .invalidPluginOption("--auth-source", why: "BasicHTTPAuth needs user:password")
        }
        expected = Array(source.utf8)
    }

    public func authenticate(_ request: ConnectionRequest) -> RequestRefusal? {
        guard let header = request.head.headers.first(name: "authorization") else {
            return Self.demand("no credentials")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingWhitespace())
        else {
            return RequestRefusal(
                status: .forbidden, message: "Malformed Authorization header: expected Basic credentials.",
                logMessage: "malformed Authorization header")
        }
        // RFC 7617 leaves the charset open; websockify reads ISO-8859-1, so bytes compare as sent.
        let credentials = [UInt8](decoded)
        guard let colon = credentials.firstIndex(of: UInt8(ascii: ":")) else {
            return RequestRefusal(
                status: .forbidden, message: "Malformed Authorization header: expected user:password.",
                logMessage: "malformed Basic credentials (no colon)")
        }
        guard Self.constantTimeEqual(credentials, expected) else {
            let user = String(decoding: credentials[..<colon], as: UTF8.self)
            return Self.demand("wrong credentials for user \(LogText.quoted(user))")
        }
        return nil
    }

    private static func demand(_ why: String) -> RequestRefusal {
        RequestRefusal(
            status: .unauthorized, headers: ["WWW-Authenticate": "Basic realm=\"websockify\""],
            message: "Authentication required.", logMessage: why)
    }

    /// Equal bytes, in time that depends only on the lengths.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
