import NIOHTTP1

/// The chain of clients and proxies that an `X-Forwarded-For` or `Forwarded` (RFC 7239) header
/// lists, and which of them is the real client. Pure.
///
/// Each proxy appends the address it received the request from, so the right end of the list is
/// the only part a trusted proxy vouches for; anything further left may have been sent by the
/// client itself. The client is therefore the right-most entry that is not a trusted proxy
/// (``client(in:isTrusted:)``), which a client cannot choose by sending a header of its own.
public enum ForwardedFor {
    /// One node of the chain.
    public enum Entry: Sendable, Equatable {
        /// An IP address, with the port when the header gives one.
        case address(IPAddress, port: Int?)
        /// `unknown`, an obfuscated identifier (`_hidden`, RFC 7239 §6.3), a host name, an element
        /// without `for=`, or text that can't be read: a node whose address is not known.
        case opaque(String)
    }

    /// The entries of every `X-Forwarded-For` line, in order (left: the first client, as claimed;
    /// right: the latest proxy's peer). Empty items (`a,,b`) are skipped.
    public static func xForwardedForEntries(_ headers: HTTPHeaders) -> [Entry] {
        headers["x-forwarded-for"].flatMap { line in
            line.split(separator: ",").compactMap { item -> Entry? in
                let text = item.trimmingWhitespace()
                return text.isEmpty ? nil : node(Substring(text))
            }
        }
    }

    /// The `for=` node of each element of every `Forwarded` line, in order (RFC 7239 §4: elements
    /// separated by commas, pairs by semicolons, values a token or a quoted string).
    public static func forwardedEntries(_ headers: HTTPHeaders) -> [Entry] {
        headers["forwarded"].flatMap { line in
            HTTPQuotedString.split(Substring(line), at: ",").compactMap { element -> Entry? in
                guard !element.trimmingWhitespace().isEmpty else { return nil }
                for pair in HTTPQuotedString.split(element, at: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2, parts[0].trimmingWhitespace().lowercased() == "for" else { continue }
                    guard let value = HTTPQuotedString.unquoted(Substring(parts[1].trimmingWhitespace())) else {
                        return .opaque(String(pair))
                    }
                    return node(Substring(value))
                }
                return .opaque(String(element))
            }
        }
    }

    /// The real client: the right-most entry whose address `isTrusted` does not accept, walking
    /// left over trusted proxies. When every entry is trusted, the left-most. A node whose address is
    /// unknown stops the walk: what lies left of it can't be checked, so the nearest trusted proxy
    /// (or nil: the peer itself) stands for the client. Nil when `entries` is empty.
    public static func client(in entries: [Entry], isTrusted: (IPAddress) -> Bool) -> Entry? {
        var nearest: Entry?
        for entry in entries.reversed() {
            guard case .address(let address, _) = entry else { return nearest }
            guard isTrusted(address) else { return entry }
            nearest = entry
        }
        return nearest
    }

    /// A node: `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`, `[2001:db8::1]:80`, or (as some
    /// proxies write X-Forwarded-For) a bare `2001:db8::1`. An obfuscated port (`_p`) counts as none.
    static func node(_ text: Substring) -> Entry {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                let address = IPAddress(text[text.index(after: text.startIndex)..<close])
            else { return .opaque(String(text)) }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return .address(address, port: nil) }
            guard rest.hasPrefix(":") else { return .opaque(String(text)) }
            return port(rest.dropFirst()).map { Entry.address(address, port: $0) } ?? .opaque(String(text))
        }
        if let address = IPAddress(text) { return .address(address, port: nil) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].contains(where: { !($0.isNumber || $0 == ".") }),
            let address = IPAddress(parts[0]), address.isIPv4
        else { return .opaque(String(text)) }
        return port(parts[1]).map { Entry.address(address, port: $0) } ?? .opaque(String(text))
    }

    /// A port (`.some(nil)` for an obfuscated one, RFC 7239 §6.3); nil when it is neither.
    private static func port(_ text: Substring) -> Int?? {
        if text.hasPrefix("_"), text.count > 1 { return .some(nil) }
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text),
            value <= 65535
        else { return nil }
        return .some(value)
    }
}
