import Foundation
import Proxy

/// A token API's `--token-source`: an `http://` or `https://` URL with `%s` where the token goes,
/// as websockify 0.13 formats it with Python's `%`: `%%` stands for one `%`. Other `%` sequences
/// (percent escapes such as `%2F`) are kept as they are, where 0.13 would fail.
///
/// The token is percent-encoded (RFC 3986 §2.1) except for the unreserved characters (§2.3), so
/// that a token can change no part of the URL but its own; 0.13 inserts it unchanged.
public struct TokenAPIURL: Equatable, Sendable {
    /// The text before and after the `%s`, with `%%` already made `%`.
    let prefix: String
    let suffix: String

    /// Parses `source`; a ``ProxyError`` naming what is wrong.
    public init(_ source: String) throws(ProxyError) {
        let usage = "expected an http:// or https:// URL with %s where the token goes, e.g. http://127.0.0.1:8000/token/%s"
        var parts = [""]
        var rest = Substring(source)
        while let percent = rest.firstIndex(of: "%") {
            parts[parts.count - 1] += rest[..<percent]
            let next = rest[rest.index(after: percent)...]
            if next.hasPrefix("s") {
                parts.append("")
                rest = next.dropFirst()
            } else if next.hasPrefix("%") {
                parts[parts.count - 1] += "%"
                rest = next.dropFirst()
            } else {
                parts[parts.count - 1] += "%"
                rest = next
            }
        }
        parts[parts.count - 1] += rest
        guard parts.count == 2 else {
            throw .tokenSource(source, why: parts.count == 1 ? "no %s for the token; \(usage)" : "more than one %s; \(usage)")
        }
        prefix = parts[0]
        suffix = parts[1]
        guard let url = URL(string: self.url(for: "token")), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host?.isEmpty == false
        else {
            throw .tokenSource(source, why: usage)
        }
    }

    /// The URL to ask for `token`.
    public func url(for token: String) -> String { prefix + Self.percentEncoded(token) + suffix }

    /// The URL with `%s` where the token goes and no user or password, for log lines.
    public var logText: String {
        var text = prefix + "%s" + suffix
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
            !text[scheme.upperBound..<at].contains("/")
        {
            text.removeSubrange(scheme.upperBound...at)
        }
        return text
    }

    /// Every byte of the UTF-8 text as `%XX`, except the unreserved `A-Z a-z 0-9 - . _ ~`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
