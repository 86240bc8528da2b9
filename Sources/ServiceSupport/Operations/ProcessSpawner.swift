#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `posix_spawn` for the daemon's re-execution and wrapped programs: safe in a process that
/// already runs threads (unlike `fork`), and the child starts with every signal at its default
/// and none blocked, whatever this process ignores (SIGPIPE, SIGXFSZ, SIGTERM while serving).
/// It inherits descriptors 0–2 and those the file actions name, nothing else: NIO's sockets are
/// not close-on-exec, and a wrapped program holding the listening socket would keep the port.
enum ProcessSpawner {
    /// What to do to the child's descriptors before it runs.
    enum FileAction {
        /// Open `path` on descriptor `fd`.
        case open(fd: Int32, path: String, flags: Int32)
        /// Make descriptor `target` a copy of `source` (the copy is inherited).
        case duplicate(source: Int32, target: Int32)
    }

    /// How the descriptors above the kept ones are closed in the child.
    enum Closing {
        /// With ``addCloseFrom`` when this C library has it, else as ``listed``.
        case automatic
        /// One `posix_spawn_file_actions_addclose` per descriptor open now (`/proc/self/fd`).
        case listed
    }

    /// Starts `arguments[0]` (looked up in `PATH` when `searchPath` and it has no `/`), with
    /// `executable` overriding the file to run. Returns the child's pid or throws the errno.
    static func spawn(
        _ arguments: [String],
        executable: String? = nil,
        environment: [String: String],
        fileActions: [FileAction] = [],
        searchPath: Bool = true,
        closing: Closing = .automatic
    ) -> Result<pid_t, SpawnErrno> {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var highest: Int32 = 2
        for action in fileActions {
            switch action {
            case .open(let fd, let path, let flags):
                posix_spawn_file_actions_addopen(&actions, fd, path, flags, 0)
                highest = max(highest, fd)
            case .duplicate(let source, let target):
                posix_spawn_file_actions_adddup2(&actions, source, target)
                highest = max(highest, target)
            }
        }
        if closing == .automatic, let closeFrom = addCloseFrom {
            _ = closeFrom(&actions, highest + 1)
        } else {
            for fd in openDescriptors() where fd > highest {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let file = executable ?? arguments[0]
        let result =
            searchPath && executable == nil
            ? posix_spawnp(&pid, file, &actions, &attributes, argv, envp)
            : posix_spawn(&pid, file, &actions, &attributes, argv, envp)
        return result == 0 ? .success(pid) : .failure(SpawnErrno(number: result))
    }

    /// The errno `posix_spawn` returned.
    struct SpawnErrno: Error {
        var number: Int32
        var text: String { OperationsError.text(ofErrno: number) }
    }

    /// Waits for `pid` to exit and reaps it, retrying on EINTR.
    static func reap(_ pid: pid_t) -> ExitStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return ExitStatus(code: 1) }
        }
        return ExitStatus(waitStatus: status)
    }

    /// Blocks until `pid` has exited without reaping it, so its pid cannot be reused while a
    /// signal may still be sent to it.
    static func waitUntilExited(_ pid: pid_t) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 {
            if errno != EINTR { return }
        }
    }
}

extension ProcessSpawner {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run time
    /// so that websockify builds and runs on older C libraries too; nil where it is missing.
    /// (<spawn.h> declares it only for _GNU_SOURCE, which Swift's Glibc module is not built with.)
    static let addCloseFrom: AddCloseFrom? = {
        // A nil handle is RTLD_DEFAULT: the symbol as the program and its libraries see it.
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// The descriptors open in this process, from `/proc/self/fd` (without the one reading it).
    /// One opened by another thread after this returns is inherited: only the fallback for a C
    /// library without `addclosefrom` has that window.
    static func openDescriptors() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var found: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd != own { found.append(fd) }
        }
        return found
    }
}
