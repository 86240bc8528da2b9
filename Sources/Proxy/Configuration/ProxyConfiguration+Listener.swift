extension ProxyConfiguration {
    /// Where the server's listening socket comes from.
    public enum Listener: Sendable, Equatable {
        /// Bind ``ProxyConfiguration/listenHost``:``ProxyConfiguration/listenPort`` (the default).
        case address
        /// Bind a unix domain socket at `path` with permission bits `mode` (`--unix-listen`,
        /// `--unix-listen-mode`). A stale socket file there is replaced; the file is removed on stop.
        case unixSocket(path: String, mode: UInt32)
        /// Adopt a socket that is already listening (`--inetd`: descriptor 0, from inetd's `wait`
        /// services or systemd's `StandardInput=socket` with `Accept=no`).
        case inherited(descriptor: Int32)
    }
}
