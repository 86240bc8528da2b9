#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a child process ended, from a `waitpid` status.
public struct ExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// The exit code, when the process exited.
    public var code: Int32?
    /// The signal, when a signal ended it.
    public var signal: Int32?

    public init(code: Int32) {
        self.code = code
    }

    public init(signal: Int32) {
        self.signal = signal
    }

    /// Decodes a `waitpid` status (WIFEXITED/WEXITSTATUS/WTERMSIG, which Swift does not import).
    public init(waitStatus: Int32) {
        if waitStatus & 0x7f == 0 {
            code = (waitStatus >> 8) & 0xff
        } else {
            signal = waitStatus & 0x7f
        }
    }

    /// The status a shell would report: the code, or 128 + the signal.
    public var shellCode: Int32 { code ?? (128 + (signal ?? 0)) }

    public var description: String {
        if let code { return "exit status \(code)" }
        let number = signal ?? 0
        return "killed by signal \(number) (\(String(cString: strsignal(number))))"
    }
}
