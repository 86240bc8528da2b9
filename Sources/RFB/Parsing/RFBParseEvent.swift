/// What a ``RFBSessionParser`` reports: a complete message, or a problem that stopped a direction.
public enum RFBParseEvent: Sendable, Hashable {
    case message(RFBParsedMessage)
    case problem(RFBParseProblem)

    public var direction: RFBDirection {
        switch self {
        case .message(let parsed): parsed.direction
        case .problem(let problem): problem.direction
        }
    }

    /// Offset in the sender's stream of the message or of the bytes that could not be followed.
    public var offset: UInt64 {
        switch self {
        case .message(let parsed): parsed.offset
        case .problem(let problem): problem.offset
        }
    }

    /// The message, if this is one.
    public var parsedMessage: RFBParsedMessage? {
        if case .message(let parsed) = self { return parsed }
        return nil
    }
}
