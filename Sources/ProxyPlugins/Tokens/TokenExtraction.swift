import NIOHTTP1
import Proxy

/// Finds the token of a request, as websockify does, plus a `token` cookie.
///
/// Precedence:
/// - with `--host-token`: the `Host` header's host part (no port; `[v6]` keeps its brackets off);
///   nothing else is consulted, as in websockify;
/// - otherwise: the first non-empty `token` parameter in the query string of the request path
///   (any path; `+` is a space, percent escapes decoded, a trailing newline dropped, as Python's
///   `parse_qs`), else the first non-empty `token` cookie (percent-decoded, surrounding quotes
///   dropped), over all `Cookie` headers.
public enum TokenExtraction {
    /// Where a request's token came from, for log lines.
    public enum Origin: String, Sendable {
        case query, host, cookie
    }

    /// The token of `head`, and where it was found; nil when it carries none.
    public static func token(in head: HTTPRequestHead, hostToken: Bool) -> (token: String, origin: Origin)? {
        if hostToken {
            return hostName(head.headers.first(name: "host")).map { ($0, .host) }
        }
        if let token = queryParameter("token", inURI: head.uri) { return (token, .query) }
        if let token = cookie("token", in: head.headers["cookie"]) {
            return (token, .cookie)
        }
        return nil
    }

    /// The first non-empty value of `name` in the query string of `uri`.
    public static func queryParameter(_ name: String, inURI uri: String) -> String? {
        guard let question = uri.firstIndex(of: "?") else { return nil }
        var query = uri[uri.index(after: question)...]
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        for pair in query.split(separator: "&") {
            let (key, value) = split(pair, at: "=")
            guard let value, formDecode(key) == name else { continue }
            var decoded = formDecode(value)
            while decoded.hasSuffix("\n") { decoded.removeLast() }
            if !decoded.isEmpty { return decoded }
        }
        return nil
    }

    /// The first non-empty value of the cookie `name` over `headers` (each `a=1; b=2`).
    public static func cookie(_ name: String, in headers: [String]) -> String? {
        for header in headers {
            for part in header.split(separator: ";") {
                let (key, value) = split(part, at: "=")
                guard let value, key.trimmingWhitespace() == name else { continue }
                var text = value.trimmingWhitespace()
                if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
                let decoded = percentDecode(text, plusIsSpace: false)
                if !decoded.isEmpty { return decoded }
            }
        }
        return nil
    }

    /// The host part of a `Host` header: `example.com:6080` → `example.com`, `[::1]:80` → `::1`.
    public static func hostName(_ header: String?) -> String? {
        guard let header = header?.trimmingWhitespace(), !header.isEmpty else { return nil }
        if header.hasPrefix("["), let close = header.firstIndex(of: "]") {
            let inside = header[header.index(after: header.startIndex)..<close]
            return inside.isEmpty ? nil : String(inside)
        }
        let host = header.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return host.isEmpty ? nil : String(host)
    }

    private static func split(_ text: Substring, at separator: Character) -> (Substring, Substring?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (text[..<index], text[text.index(after: index)...])
    }

    private static func formDecode(_ text: Substring) -> String { percentDecode(text, plusIsSpace: true) }

    /// `%XX` escapes decoded as UTF-8 (invalid sequences become U+FFFD, malformed escapes stay as
    /// they are, as Python's `unquote`); `+` becomes a space in query strings.
    static func percentDecode(_ text: some StringProtocol, plusIsSpace: Bool) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "%"), i + 2 < bytes.count, let high = HexDigit.value(bytes[i + 1]),
                let low = HexDigit.value(bytes[i + 2])
            {
                out.append(high << 4 | low)
                i += 3
                continue
            }
            out.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

}
