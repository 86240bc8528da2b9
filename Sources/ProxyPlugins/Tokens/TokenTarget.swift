import NIOHTTP1
import Proxy
/// Turns what a token store says about a target into a ``ProxyConfiguration/Target``, with
/// websockify's conventions: `host:port` (IPv6 in brackets), and `unix_socket:/path` for a unix socket.
public enum TokenTarget {
    /// The host name websockify's plugins use to mean "the port part is a unix socket path".
    public static let unixSocketHost = "unix_socket"

    /// Parses `host:port` or `unix_socket:/path`; the reason when it can't.
    public static func parse(_ text: String) -> Result<ProxyConfiguration.Target, TokenTargetError> {
        let trimmed = text.trimmingWhitespace()
        let prefix = unixSocketHost + ":"
        if trimmed.hasPrefix(prefix) {
            return unixSocket(String(trimmed.dropFirst(prefix.count)))
        }
        do {
            return .success(try AddressParsing.target(trimmed))
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
        guard let number = Int(port.trimmingWhitespace()), (1...65535).contains(number) else {
            return .failure(TokenTargetError(message: "target port '\(port)' is not a number in 1-65535"))
        }
        return .success(.hostPort(host: bare, port: number))
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
