import Foundation
import NIOCore
import NIOHTTP1
import Proxy

/// Turns what a token store says about a target into a ``ProxyConfiguration/Target``, with
/// websockify's conventions: `host:port`, and `unix_socket:/path` for a unix socket. An IPv6 host is
/// written in brackets (`[::1]:5900`) or bare (`::1:5900`): as websockify 0.13 reads token files, the
/// last colon then ends the host, which must be an IPv6 literal.
public enum TokenTarget {
    /// The host name websockify's plugins use to mean "the port part is a unix socket path".
    public static let unixSocketHost = "unix_socket"

    /// Parses `host:port` or `unix_socket:/path`; the reason when it can't.
    public static func parse(_ text: String) -> Result<ProxyConfiguration.Target, TokenTargetError> {
        // By scalars: "\r\n" is one Character, which trimmingWhitespace() would keep.
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = unixSocketHost + ":"
        if trimmed.hasPrefix(prefix) {
            return unixSocket(String(trimmed.dropFirst(prefix.count)))
        }
        if !trimmed.hasPrefix("["), let last = trimmed.lastIndex(of: ":"), trimmed[..<last].contains(":") {
            return bareIPv6(host: String(trimmed[..<last]), port: String(trimmed[trimmed.index(after: last)...]))
        }
        do {
            let target = try AddressParsing.target(trimmed)
            if case .hostPort(let host, let port) = target {
                // host:port text allows port 0 (a listener's "any port"); no connection reaches it.
                if port == 0 { return .failure(TokenTargetError(message: "target port '0' is not a number in 1-65535")) }
                if let problem = hostProblem(host) { return .failure(problem) }
            }
            return .success(target)
        } catch let error as ProxyError {
            return .failure(TokenTargetError(message: error.message))
        } catch {
            return .failure(TokenTargetError(message: "\(error)"))
        }
    }

    /// A target given as separate host and port (JWT claims, Redis JSON values); `port` may be a
    /// number or a string, and is the socket path when `host` is `unix_socket`.
    public static func make(host: String, port: String) -> Result<ProxyConfiguration.Target, TokenTargetError> {
        if host == unixSocketHost { return unixSocket(port) }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard !bare.isEmpty else { return .failure(TokenTargetError(message: "target host missing")) }
        if let problem = hostProblem(bare) { return .failure(problem) }
        guard let number = Int(port.trimmingWhitespace()), (1...65535).contains(number) else {
            return .failure(TokenTargetError(message: "target port '\(port)' is not a number in 1-65535"))
        }
        return .success(.hostPort(host: bare, port: number))
    }

    /// `::1:5900`: the host before the last colon must be an IPv6 literal (so `fe80::1` alone, with
    /// no port, is not read as host `fe80:` port 1).
    private static func bareIPv6(host: String, port: String) -> Result<ProxyConfiguration.Target, TokenTargetError> {
        guard (try? SocketAddress(ipAddress: host, port: 0))?.protocol == .inet6 else {
            return .failure(
                TokenTargetError(message: "'\(host)' is not an IPv6 address (write IPv6 hosts as [addr]:port or addr:port)"))
        }
        return make(host: host, port: port)
    }

    /// A JSON object's `host` and `port` (websockify's JSON values): `port` a number or a string,
    /// or no `port` and `host` is `host:port`.
    public static func fromJSON(_ object: [String: Any]) -> Result<ProxyConfiguration.Target, TokenTargetError> {
        guard let host = object["host"] as? String else {
            return .failure(TokenTargetError(message: "JSON value has no 'host' string"))
        }
        switch object["port"] {
        case nil: return parse(host)
        case let port as String: return make(host: host, port: port)
        case let port as NSNumber: return make(host: host, port: port.stringValue)
        default: return .failure(TokenTargetError(message: "JSON 'port' is neither a number nor a string"))
        }
    }

    /// A host name or IP literal never holds white space or control characters; a NUL would end
    /// the name early where the resolver reads it (the connection would go to a host other than
    /// the one named).
    /// Brackets only enclose a whole host (`[::1]`); one left inside it (`[[::1]`, `a]`) makes a
    /// name no resolver takes, and one that `host:port` cannot be written back from.
    private static func hostProblem(_ host: String) -> TokenTargetError? {
        if host.contains("[") || host.contains("]") {
            return TokenTargetError(message: "target host \(LogText.quoted(host)) contains a bracket")
        }
        guard let bad = host.unicodeScalars.first(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control })
        else { return nil }
        return TokenTargetError(
            message: "target host \(LogText.quoted(host)) contains \(bad.value == 0x20 ? "a space" : "the control character U+\(String(bad.value, radix: 16, uppercase: true))")")
    }

    private static func unixSocket(_ path: String) -> Result<ProxyConfiguration.Target, TokenTargetError> {
        path.isEmpty
            ? .failure(TokenTargetError(message: "unix socket path missing after 'unix_socket:'"))
            : .success(.unixSocket(path: path))
    }
}

/// Why a token store's target text could not be used.
public struct TokenTargetError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
