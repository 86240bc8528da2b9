import ServiceLifecycle

/// Something that runs while the proxy serves and has one thing to do when it stops: stop the wrapped
/// program, drain and close the recording. As a service it waits for its graceful shutdown (or the
/// group's cancellation), then does that and returns.
///
/// In ``WebsockifyServices`` these come before the proxy, so the group shuts them down after it: by
/// then no session is open, and the sessions' last records are queued.
public struct ShutdownStep: Service, CustomStringConvertible {
    /// What it is, for the group's log ("wrapped program", "recording").
    public let description: String
    private let action: @Sendable () async -> Void

    public init(_ description: String, action: @escaping @Sendable () async -> Void) {
        self.description = description
        self.action = action
    }

    public func run() async throws {
        // Cancelled or shut down gracefully: the step runs either way (a proxy that could not
        // listen cancels nothing, but a recording opened for it must still be closed).
        try? await gracefulShutdown()
        await action()
    }
}
