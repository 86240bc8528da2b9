import NIOHTTP1

/// A request the proxy refuses before any upgrade or file: the HTTP answer and the log line.
///
/// Auth plugins and target lookups return or throw these; the handshake handler answers with
/// `status`, `headers` and `message` (plain text) and closes the connection.
public struct RequestRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status to answer with.
    public var status: HTTPResponseStatus
    /// Extra response headers (e.g. `WWW-Authenticate`).
    public var headers: HTTPHeaders
    /// What the client is told, in one line.
    public var message: String
    /// What the log says, when it should say more than the client is told (secrets stay out of both).
    public var logMessage: String

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], message: String, logMessage: String? = nil) {
        self.status = status
        self.headers = headers
        self.message = message
        self.logMessage = logMessage ?? message
    }

    public var description: String { "\(status.code) \(logMessage)" }

    public static func == (a: RequestRefusal, b: RequestRefusal) -> Bool {
        a.status == b.status && a.message == b.message && a.logMessage == b.logMessage
            && a.headers.map { "\($0.name):\($0.value)" } == b.headers.map { "\($0.name):\($0.value)" }
    }
}
