/// Why rendering failed: what went wrong, with the file it concerns (the recording, an output, a
/// cache, ffmpeg) where there is one.
public struct RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file concerned, if any.
    public var path: String?
    public var message: String

    public init(_ message: String, path: String? = nil) {
        self.message = message
        self.path = path
    }

    /// `PATH: message`, or the message alone.
    public var description: String { path.map { "\($0): \(message)" } ?? message }
}
