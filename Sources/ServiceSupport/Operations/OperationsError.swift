#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An error from running websockify as a service: daemon, wrapped program, inherited or unix
/// listening socket, syslog. Says what failed, with which file, program or peer, and what to do.
public struct OperationsError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case daemon, wrap, listener, syslog, option
    }

    private let code: Code
    /// What went wrong, for people.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Starting or detaching the background process failed.
    public static func daemon(_ message: String) -> OperationsError { OperationsError(.daemon, message) }

    /// The wrapped program could not be found or started.
    public static func wrap(_ message: String) -> OperationsError { OperationsError(.wrap, message) }

    /// The inherited (`--inetd`) or unix (`--unix-listen`) listening socket is unusable.
    public static func listener(_ message: String) -> OperationsError { OperationsError(.listener, message) }

    /// The syslog destination could not be reached or parsed.
    public static func syslog(_ message: String) -> OperationsError { OperationsError(.syslog, message) }

    /// An operations option has a value that cannot work.
    public static func option(_ message: String) -> OperationsError { OperationsError(.option, message) }

    /// `strerror(number)`.
    package static func text(ofErrno number: Int32) -> String { String(cString: strerror(number)) }
}
