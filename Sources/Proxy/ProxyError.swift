/// An error the proxy reports to its user: what failed, where, and the underlying cause.
public struct ProxyError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case bindFailed, invalidAddress
        case webRoot, invalidOption
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
        ProxyError(.bindFailed, "cannot listen on \(address): \(underlying); is the port in use?")
    }

    /// An address given on the command line or in the configuration could not be used.
    public static func invalidAddress(_ text: String, why: String) -> ProxyError {
        ProxyError(.invalidAddress, "invalid address '\(text)': \(why)")
    }

    /// The web server's directory (`--web`) cannot be served.
    public static func webRoot(_ path: String, why: String) -> ProxyError {
        ProxyError(.webRoot, "cannot serve '\(path)' as the web root: \(why)")
    }

    /// A command-line option that cannot be used as given (or without another one).
    public static func invalidOption(_ option: String, why: String) -> ProxyError {
        ProxyError(.invalidOption, "\(option): \(why)")
    }

    public var description: String { message }

    public static func == (a: ProxyError, b: ProxyError) -> Bool { a.code == b.code && a.message == b.message }
}

extension ProxyError: Equatable {}
