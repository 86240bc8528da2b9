/// A rule that cannot be used: an unknown message name or mode, or a rules file that cannot be
/// read; the message says which option or file entry, and what is accepted.
public struct RFBRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
