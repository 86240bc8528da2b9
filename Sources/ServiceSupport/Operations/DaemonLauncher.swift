#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `-D/--daemon`, foreground side: re-executes this program in the background and reports whether it
/// came up.
///
/// Forking a process that already runs threads (Swift's concurrency pool, NIO, Dispatch) is unsafe,
/// so the daemon is a fresh execution of `/proc/self/exe` with the same arguments, started with
/// `posix_spawn`. Until it listens, its standard output and error come back here and are copied to
/// ours, so startup messages and errors (port in use, log file not writable) reach the terminal.
/// Once it listens it detaches (``DaemonChild/detach(keepStandardInput:)``) and this process exits
/// 0; if it exits first, this process exits with its status. Scripts can trust the exit code.
public enum DaemonLauncher {
    /// Environment variable telling the re-executed process which descriptor to report readiness on.
    public static let readinessVariable = "WEBSOCKIFY_DAEMON_READY_FD"

    /// Starts the daemon and waits until it listens or fails; returns this process's exit code.
    /// - Parameters:
    ///   - arguments: the command line to re-execute (`CommandLine.arguments`).
    ///   - keepStandardInput: pass standard input on (`--inetd`: it is the listening socket);
    ///     otherwise the daemon's is `/dev/null`.
    ///   - report: where to copy the daemon's startup output, and the final "running" line.
    public static func launch(
        arguments: [String],
        environment: [String: String],
        keepStandardInput: Bool,
        report: (String) -> Void
    ) -> Int32 {
        var output: [Int32] = [0, 0]
        var readiness: [Int32] = [0, 0]
        guard pipe(&output) == 0, pipe(&readiness) == 0 else {
            report("websockify: cannot start the daemon: pipe: \(OperationsError.text(ofErrno: errno))\n")
            return 1
        }
        // Nothing else starts processes yet; the daemon gets only the copies made below.
        for fd in output + readiness { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // The copy on descriptor 3 (4 if the pipe already is 3, as dup2 onto itself keeps close-on-exec).
        let readinessFD: Int32 = readiness[1] == 3 ? 4 : 3
        var childEnvironment = environment
        childEnvironment[readinessVariable] = String(readinessFD)
        var actions: [ProcessSpawner.FileAction] = [
            .duplicate(source: output[1], target: 1),
            .duplicate(source: output[1], target: 2),
            .duplicate(source: readiness[1], target: readinessFD),
        ]
        if !keepStandardInput {
            actions.insert(.open(fd: 0, path: "/dev/null", flags: O_RDONLY), at: 0)
        }
        let spawned = ProcessSpawner.spawn(
            arguments, executable: "/proc/self/exe", environment: childEnvironment, fileActions: actions,
            searchPath: false)
        close(output[1])
        close(readiness[1])
        defer {
            close(output[0])
            close(readiness[0])
        }
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let error):
            report("websockify: cannot start the daemon: \(error.text)\n")
            return 1
        }
        // Copy the daemon's output until it detaches (or exits): both close the pipe.
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(output[0], &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            report(String(decoding: buffer[0..<count], as: UTF8.self))
        }
        var ready: UInt8 = 0
        var count: Int
        repeat { count = read(readiness[0], &ready, 1) } while count < 0 && errno == EINTR
        if count == 1 && ready == UInt8(ascii: "R") {
            report("websockify: running in the background as process \(pid)\n")
            return 0
        }
        let status = ProcessSpawner.reap(pid)
        if status.code != 0 {
            report("websockify: the daemon stopped before listening (\(status))\n")
        }
        return status.shellCode
    }
}
