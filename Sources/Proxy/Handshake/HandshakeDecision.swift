import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What to answer to an HTTP request on the WebSocket port, decided without I/O (RFC 6455 §4.2).
public enum HandshakeDecision: Equatable {
    /// Switch protocols: answer 101 with these headers and start relaying in `mode`.
    case accept(headers: HTTPHeaders, subprotocol: String?, mode: PayloadMode)
    /// Refuse with `status`, extra `headers` and a short plain-text `message`, then close.
    case reject(status: HTTPResponseStatus, headers: HTTPHeaders, message: String)

    /// The subprotocols this proxy speaks, in order of preference.
    public static let supportedSubprotocols = ["binary", "base64"]

    /// The GUID appended to the key for `Sec-WebSocket-Accept` (RFC 6455 §1.3).
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Decides the answer to `head`, choosing among `subprotocols` (in order of preference).
    public static func decide(
        _ head: HTTPRequestHead, subprotocols: [String] = supportedSubprotocols
    ) -> HandshakeDecision {
        let headers = head.headers
        let upgradeTokens = tokens(headers, "upgrade")
        let connectionTokens = tokens(headers, "connection")
        let looksLikeUpgrade = !upgradeTokens.isEmpty || headers.contains(name: "sec-websocket-key")
        guard looksLikeUpgrade else {
            // No static web server (yet): a plain request gets a clear answer instead of a hang.
            if head.method == .GET || head.method == .HEAD {
                return .reject(status: .notFound, headers: [:], message: "This is a WebSocket proxy; no page here.")
            }
            return .reject(
                status: .methodNotAllowed, headers: ["Allow": "GET"],
                message: "Only WebSocket upgrades (GET) are served.")
        }
        guard head.method == .GET else {
            return .reject(
                status: .methodNotAllowed, headers: ["Allow": "GET"], message: "WebSocket upgrades must use GET.")
        }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            return .reject(status: .badRequest, headers: [:], message: "WebSocket upgrades need HTTP/1.1.")
        }
        guard upgradeTokens.contains("websocket") else {
            return .reject(status: .badRequest, headers: [:], message: "Missing 'Upgrade: websocket' header.")
        }
        guard connectionTokens.contains("upgrade") else {
            return .reject(status: .badRequest, headers: [:], message: "Missing 'Connection: Upgrade' header.")
        }
        let versions = headers["sec-websocket-version"]
        guard let version = versions.first, versions.count == 1 else {
            return .reject(
                status: .badRequest, headers: ["Sec-WebSocket-Version": "13"],
                message: "Missing Sec-WebSocket-Version header.")
        }
        guard version.trimmingSpaces == "13" else {
            return .reject(
                status: .upgradeRequired, headers: ["Sec-WebSocket-Version": "13"],
                message: "Unsupported WebSocket version; this server speaks version 13.")
        }
        let keys = headers["sec-websocket-key"]
        guard keys.count == 1, let key = keys.first?.trimmingSpaces, isValidKey(key) else {
            return .reject(status: .badRequest, headers: [:], message: "Missing or invalid Sec-WebSocket-Key header.")
        }
        let offered = tokens(headers, "sec-websocket-protocol", lowercased: false)
        let chosen: String?
        if offered.isEmpty {
            chosen = nil
        } else if let match = subprotocols.first(where: { offered.contains($0) }) {
            chosen = match
        } else {
            return .reject(
                status: .badRequest, headers: [:],
                message: "Unsupported subprotocol (offered: \(offered.joined(separator: ", "))); "
                    + "supported: \(subprotocols.joined(separator: ", ")).")
        }
        var response: HTTPHeaders = [
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": acceptValue(forKey: key),
        ]
        if let chosen { response.add(name: "Sec-WebSocket-Protocol", value: chosen) }
        return .accept(headers: response, subprotocol: chosen, mode: chosen == "base64" ? .base64 : .binary)
    }

    /// `base64(SHA-1(key + GUID))` (RFC 6455 §4.2.2 item 5.4).
    public static func acceptValue(forKey key: String) -> String {
        Data(SHA1.hash(Array((key + acceptGUID).utf8))).base64EncodedString()
    }

    /// A valid key is base64 of 16 bytes (RFC 6455 §4.1 item 7).
    static func isValidKey(_ key: String) -> Bool {
        guard key.utf8.count == 24, let data = Data(base64Encoded: key) else { return false }
        return data.count == 16
    }

    /// Comma-separated tokens of every `name` header, trimmed (and lowercased unless told not to).
    static func tokens(_ headers: HTTPHeaders, _ name: String, lowercased: Bool = true) -> [String] {
        headers[name].flatMap { $0.split(separator: ",") }.map { token in
            let trimmed = String(token).trimmingSpaces
            return lowercased ? trimmed.lowercased() : trimmed
        }.filter { !$0.isEmpty }
    }
}

extension String {
    var trimmingSpaces: String {
        let scalars = self.unicodeScalars
        guard let start = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
            let end = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(scalars[start...end])
    }
}
