/// Something the reader of a rendered frame should know (a rectangle not decoded, records the
/// recording lost, damage), with the session time it concerns.
public struct RenderNote: Sendable, Equatable, CustomStringConvertible {
    /// µs since the session start, where known.
    public var timeMicros: UInt64?
    public var text: String

    public init(timeMicros: UInt64?, _ text: String) {
        self.timeMicros = timeMicros
        self.text = text
    }

    /// `at 12.500 s: text`.
    public var description: String {
        guard let timeMicros else { return text }
        return "at \(RenderTimeText.seconds(timeMicros)) s: \(text)"
    }
}
