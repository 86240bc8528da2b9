#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `-D/--daemon`, background side: the process ``DaemonLauncher`` started.
public struct DaemonChild: Sendable {
    /// Where the launcher waits for the readiness byte.
    private let readinessFD: Int32

    /// Whether this process was started by ``DaemonLauncher``.
    public static var isLaunched: Bool { getenv(DaemonLauncher.readinessVariable) != nil }

    /// Takes over as the daemon if this process was started by ``DaemonLauncher``: leaves the
    /// terminal's session (`setsid`) and removes the variable so that a wrapped program does not
    /// inherit it. Nil when this process was not launched as a daemon.
    public static func adopt() -> DaemonChild? {
        guard let text = getenv(DaemonLauncher.readinessVariable), let fd = Int32(String(cString: text)) else {
            return nil
        }
        unsetenv(DaemonLauncher.readinessVariable)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = setsid()
        return DaemonChild(readinessFD: fd)
    }

    private init(readinessFD: Int32) {
        self.readinessFD = readinessFD
    }

    /// Call once listening, before a wrapped program is first started: the working directory
    /// becomes `/`, so every start of the program, respawns included, runs there (as in websockify 0.13).
    public func leaveWorkingDirectory() {
        _ = chdir("/")
    }

    /// Call once listening, after ``leaveWorkingDirectory()`` and the wrapped program's start: standard
    /// streams become `/dev/null` (standard input is kept when it is the listening socket), and the
    /// launcher exits 0.
    public func detach(keepStandardInput: Bool) {
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            if !keepStandardInput { _ = dup2(null, 0) }
            _ = dup2(null, 1)
            _ = dup2(null, 2)
            if null > 2 { close(null) }
        }
        var ready = UInt8(ascii: "R")
        _ = write(readinessFD, &ready, 1)
        close(readinessFD)
    }
}
