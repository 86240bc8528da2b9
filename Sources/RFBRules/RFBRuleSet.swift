import RFB

/// Which differences between a recorded RFB client stream and another one (a client under test,
/// or a second recording) are expected. Shared by `wsreplay` and `wsrecord-inspect diff --rfb`, so
/// that both take the same `--allow`, `--ignore` and `--rules`.
///
/// Each message type is *checked* (it must match), *allowed* (a difference, a missing or an extra
/// message of that type is counted as allowed, not as a divergence) or *ignored* (left out of
/// the comparison on both sides). Per-message exceptions name a recorded client message by its
/// index: its 0-based position among the session's client→server RFB messages, handshake included
/// (the `client message #N` that reports show).
public struct RFBRuleSet: Sendable, Equatable {
    /// What to do with messages of one type.
    public enum Treatment: Sendable, Equatable, CustomStringConvertible {
        /// Must match the recording.
        case check
        /// Differences are expected and counted as allowed.
        case allow(AllowMode)
        /// Left out of the comparison on both sides.
        case ignore

        public var description: String {
            switch self {
            case .check: "check"
            case .allow(let mode): mode == .any ? "allow" : "allow (\(mode.rawValue))"
            case .ignore: "ignore"
            }
        }
    }

    /// How much of a difference an allow rule accepts.
    public enum AllowMode: String, Sendable, Equatable, CaseIterable {
        /// Any difference, a missing or an extra message of the type.
        case any
        /// SetEncodings only: the new list holds every recorded encoding (additions and a new
        /// order are fine, a removal is not); missing or extra SetEncodings are not allowed.
        case superset
    }

    /// The treatment of one recorded client message, by index.
    public struct Exception: Sendable, Equatable {
        public var index: Int
        public var treatment: Treatment
        /// Limit to this recorded session (nil: every session).
        public var session: UInt32?

        public init(index: Int, treatment: Treatment, session: UInt32? = nil) {
            self.index = index
            self.treatment = treatment
            self.session = session
        }
    }

    /// Treatments by message name (`SetEncodings`, `KeyEvent`, …); names not listed are checked.
    public private(set) var treatments: [String: Treatment]
    public private(set) var exceptions: [Exception]

    /// The defaults `wsreplay` has always had: FramebufferUpdateRequest and PointerEvent are free
    /// (regions, positions and timing may differ, and they need not be there at all).
    public static let defaultTreatments: [String: Treatment] = [
        "FramebufferUpdateRequest": .ignore, "PointerEvent": .ignore,
    ]

    /// The defaults, plus `treatments` and `exceptions` (later entries win).
    public init(treatments: [String: Treatment] = [:], exceptions: [Exception] = []) {
        self.treatments = Self.defaultTreatments.merging(treatments) { _, new in new }
        self.exceptions = exceptions
    }

    /// The default rules.
    public static let standard = RFBRuleSet()

    /// Sets how messages named `name` (a name from ``messageNames``) are treated.
    public mutating func set(_ name: String, _ treatment: Treatment) {
        treatments[name] = treatment
    }

    /// Adds a per-message exception (it wins over the type's treatment).
    public mutating func add(_ exception: Exception) {
        exceptions.removeAll { $0.index == exception.index && $0.session == exception.session }
        exceptions.append(exception)
    }

    /// How `message` is treated; `index` is the recorded client message's index (nil for a
    /// message the recording does not have), `session` the recorded session's number.
    public func treatment(of message: RFBMessage, index: Int? = nil, session: UInt32? = nil) -> Treatment {
        if let index,
            let exception = exceptions.last(where: {
                $0.index == index && ($0.session == nil || $0.session == session)
            })
        {
            return exception.treatment
        }
        return treatments[message.name] ?? .check
    }

    /// Whether `message` takes part in the comparison at all.
    public func isIgnored(_ message: RFBMessage, index: Int? = nil, session: UInt32? = nil) -> Bool {
        treatment(of: message, index: index, session: session) == .ignore
    }

    /// How a recorded client message compares with the one sent in its place.
    public enum Verdict: Sendable, Equatable {
        /// The same message.
        case same
        /// Different, but a rule allows it.
        case allowed
        /// Different.
        case different
    }

    /// Compares the recorded message (index `index` of session `session`) with `actual`.
    /// Two VNC authentication responses are the same whatever the password (the recorded
    /// challenge and result are replayed).
    public func compare(recorded: RFBMessage, actual: RFBMessage, index: Int? = nil, session: UInt32? = nil)
        -> Verdict
    {
        if recorded == actual { return .same }
        switch treatment(of: recorded, index: index, session: session) {
        case .check:
            return .different
        case .ignore:
            return .allowed
        case .allow(.any):
            return recorded.name == actual.name ? .allowed : .different
        case .allow(.superset):
            guard case .setEncodings(let old) = recorded, case .setEncodings(let new) = actual else {
                return recorded.name == actual.name ? .allowed : .different
            }
            return Set(old).isSubset(of: Set(new)) ? .allowed : .different
        }
    }

    /// Whether the recorded message may be missing from the other stream.
    public func allowsMissing(_ recorded: RFBMessage, index: Int? = nil, session: UInt32? = nil) -> Bool {
        switch treatment(of: recorded, index: index, session: session) {
        case .ignore, .allow(.any): true
        case .check, .allow(.superset): false
        }
    }

    /// Whether a message the recording does not have may be sent.
    public func allowsExtra(_ actual: RFBMessage, session: UInt32? = nil) -> Bool {
        allowsMissing(actual, session: session)
    }

    /// The rules that differ from the defaults, one per line, for reports: `allow SetEncodings
    /// (superset)`, `ignore ClientCutText`, `client message #12: ignore`.
    public var summary: [String] {
        var lines: [String] = []
        for name in treatments.keys.sorted() where treatments[name] != Self.defaultTreatments[name] ?? .check {
            lines.append("\(treatments[name]!) \(name)")
        }
        for exception in exceptions {
            let scope = exception.session.map { "session \($0) " } ?? ""
            lines.append("\(scope)client message #\(exception.index): \(exception.treatment)")
        }
        return lines
    }
}
