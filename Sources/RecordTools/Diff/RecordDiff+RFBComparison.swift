import RFB

extension RecordDiff {
    /// One direction of a session pair compared as RFB messages (`diff --rfb`): what was compared,
    /// what the rules left out or allowed, and every difference as decoded messages.
    public struct RFBComparison: Sendable {
        /// One message as the comparison saw it.
        public struct Item: Sendable, Equatable {
            public var message: RFBMessage
            /// Position among the sender's RFB messages in the session, handshake included, from 0
            /// (the `client message #N` that wsreplay reports and rules files name).
            public var index: Int
            /// Offset of its first byte in the sender's stream.
            public var offset: UInt64
            /// Time (since the session start) and file-wide index of the record that completed it.
            public var timeMicros: UInt64
            public var record: Int

            public init(message: RFBMessage, index: Int, offset: UInt64, timeMicros: UInt64, record: Int) {
                self.message = message
                self.index = index
                self.offset = offset
                self.timeMicros = timeMicros
                self.record = record
            }
        }

        /// A message that differs, or that only one recording has.
        public struct Difference: Sendable, Equatable {
            public enum Kind: String, Sendable {
                /// A and B have a different message of the same type at this place.
                case changed
                /// A has a message B does not.
                case onlyInA = "only_in_a"
                /// B has a message A does not.
                case onlyInB = "only_in_b"
            }

            public var kind: Kind
            public var a: Item?
            public var b: Item?
        }

        /// Who sent the messages compared.
        public var sender: RFBDirection
        /// Messages taken into the comparison (those not ignored), per side.
        public var comparedA = 0
        public var comparedB = 0
        /// Pairs of messages found the same (server side: the same structure).
        public var matched = 0
        /// Differences a rule accepts (`--allow`): counted, not reported as differences.
        public var allowed = 0
        /// Messages the rules left out, by type, per side.
        public var ignoredA: [String: Int] = [:]
        public var ignoredB: [String: Int] = [:]
        /// The first ``RecordDiff/Options/differenceLimit`` differences, in order.
        public var differences: [Difference] = []
        /// All differences, per kind.
        public var changed = 0
        public var onlyInA = 0
        public var onlyInB = 0
        /// False when the sequences were too far apart to align (see ``SequenceAlignment``): then
        /// messages were paired by position after the common start and end.
        public var aligned = true
        /// Matched messages delivered further apart than `--timing-tolerance`, and the worst.
        public var timingViolations = 0
        public var worstTimingMicros: UInt64 = 0
        /// Why a side could not be followed to its end (`A: unknown: … at server offset 1234`);
        /// then the stream is judged by its bytes instead.
        public var unfollowed: [String] = []
        /// Things worth knowing that are not differences (a stream that ends inside a message).
        public var notes: [String] = []

        public init(sender: RFBDirection) { self.sender = sender }

        public var differenceCount: Int { changed + onlyInA + onlyInB }
        /// Whether the messages could be compared to the end on both sides.
        public var isUsable: Bool { unfollowed.isEmpty }
    }
}
