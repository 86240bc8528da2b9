/// What ``ProgramWrapper`` runs and how (`websockify [source_addr:]source_port -- PROGRAM ARGS…`).
public struct ProgramWrapperConfiguration: Sendable, Equatable {
    /// What to do when the program exits (`--wrap-mode`).
    public enum Mode: String, Sendable, CaseIterable {
        /// Exit too, with the program's status (the default, as in websockify 0.13).
        case exit
        /// Keep serving: for programs that put themselves in the background (`vncserver`).
        case ignore
        /// Start it again, after a ``RespawnBackoff`` delay when it keeps exiting quickly.
        case respawn
    }

    /// The program and its arguments; the program is looked up in `PATH` unless it has a `/`.
    public var command: [String]
    public var mode: Mode
    /// The port the program binds and websockify listens on (`REBIND_OLD_PORT`).
    public var listenPort: Int
    /// The loopback port the program's socket is moved to, and websockify's target (`REBIND_NEW_PORT`).
    public var rebindPort: Int
    /// The `librebind.so` to preload (see ``RebindLibrary/locate(executablePath:environment:isReadable:)``).
    public var libraryPath: String
    /// Delays between restarts in `respawn` mode.
    public var backoff: RespawnBackoff
    /// On shutdown the program gets SIGTERM, and SIGKILL if it is still running this much later.
    /// 5 s: enough for a server to close its clients, short enough for a service manager's timeout.
    public var stopGracePeriod: Duration
    /// Give the program `/dev/null` as standard input, output and error (a daemon's are `/dev/null`
    /// too; this keeps the program from holding the launcher's pipe open).
    public var nullStandardStreams: Bool

    public init(
        command: [String],
        mode: Mode = .exit,
        listenPort: Int,
        rebindPort: Int,
        libraryPath: String,
        backoff: RespawnBackoff = RespawnBackoff(),
        stopGracePeriod: Duration = .seconds(5),
        nullStandardStreams: Bool = false
    ) {
        self.command = command
        self.mode = mode
        self.listenPort = listenPort
        self.rebindPort = rebindPort
        self.libraryPath = libraryPath
        self.backoff = backoff
        self.stopGracePeriod = stopGracePeriod
        self.nullStandardStreams = nullStandardStreams
    }

    /// The program's environment: `base` with the library first in `LD_PRELOAD` and both ports set.
    public func environment(base: [String: String]) -> [String: String] {
        var result = base
        let others = (base["LD_PRELOAD"] ?? "").split(whereSeparator: { $0 == ":" || $0 == " " })
            .map(String.init).filter { $0 != libraryPath }
        result["LD_PRELOAD"] = ([libraryPath] + others).joined(separator: ":")
        result["REBIND_OLD_PORT"] = String(listenPort)
        result["REBIND_NEW_PORT"] = String(rebindPort)
        return result
    }
}
