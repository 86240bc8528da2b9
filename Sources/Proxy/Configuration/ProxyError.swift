/// An error the proxy reports to its user: what failed, where, and the underlying cause.
public struct ProxyError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case bindFailed, invalidAddress, tls, invalidOption, invalidPluginOption, webRoot
    }

    private let code: Code
    /// What went wrong, for people.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Listening on the given address failed.
    public static func bindFailed(address: String, underlying: any Error) -> ProxyError {
        ProxyError(.bindFailed, "cannot listen on \(address): \(socketErrorText(underlying))")
    }

    /// An address given on the command line or in the configuration could not be used.
    public static func invalidAddress(_ text: String, why: String) -> ProxyError {
        ProxyError(.invalidAddress, "invalid address '\(text)': \(why)")
    }

    /// The web server's directory (`--web`) cannot be served.
    public static func webRoot(_ path: String, why: String) -> ProxyError {
        ProxyError(.webRoot, "cannot serve '\(path)' as the web root: \(why)")
    }

    /// A command-line option or combination of options that can't work.
    public static func invalidOption(_ option: String, why: String) -> ProxyError {
        ProxyError(.invalidOption, "\(option): \(why)")
    }

    /// A certificate, key or CA file can't be used for TLS.
    public static func tls(file: String, _ problem: String) -> ProxyError {
        ProxyError(.tls, "TLS: \(file): \(problem)")
    }

    /// A token or auth plugin option (`--token-plugin`, `--token-source`, `--auth-plugin`,
    /// `--auth-source`) that cannot be used.
    public static func invalidPluginOption(_ option: String, why: String) -> ProxyError {
        ProxyError(.invalidPluginOption, "\(option): \(why)")
    }

    /// A token source (file, directory, key file) that cannot be read or used.
    public static func tokenSource(_ source: String, why: String) -> ProxyError {
        invalidPluginOption("--token-source \(source)", why: why)
    }

    public var description: String { message }

    public static func == (a: ProxyError, b: ProxyError) -> Bool { a.code == b.code && a.message == b.message }
}

extension ProxyError: Equatable {}
