/// Where a server is between listening and stopping: what the health path reports and whether a
/// new connection is taken. Phases only move forward, in the order declared.
///
/// Between ``draining`` and ``closed`` is the lame duck (``ShutdownSequence``, `--lame-duck`): new
/// connections are still taken while the health path already says 503, so that a balancer notices
/// before the listener goes away. Without one, shutdown goes through ``draining`` to ``closed`` at once.
enum ServingPhase: Int, Comparable, Sendable, CustomStringConvertible {
    /// Serving: new connections are taken, the health path answers 200.
    case accepting
    /// Shutdown began: the health path answers 503; new connections are still taken.
    case draining
    /// The listener is closing or closed: new connections are dropped; requests on connections
    /// already open still get answers (the health path 503).
    case closed

    static func < (a: ServingPhase, b: ServingPhase) -> Bool { a.rawValue < b.rawValue }

    var description: String {
        switch self {
        case .accepting: "accepting"
        case .draining: "draining"
        case .closed: "closed"
        }
    }
}
