import RFB
import RFBRules
import RecordFormat

/// Compares two recordings session by session (`wsrecord-inspect diff`).
///
/// Per direction, the byte streams are compared regardless of how they were split into frames:
/// two recordings of the same interaction chunk differently. Framing, timing (with a tolerance)
/// and, on request, RFB messages are compared on top. Both files are read once, in step, with
/// memory bounded by how far one stream runs ahead of the other.
public struct RecordDiff {
    public struct Options: Sendable {
        /// Sessions to compare as (A, B) pairs; nil pairs sessions with the same number.
        public var pairs: [(UInt32, UInt32)]?
        /// Report bytes delivered more than this much earlier or later in B than in A.
        public var timingToleranceMicros: UInt64?
        /// Compare both directions as RFB messages (server messages by structure), not as bytes.
        public var rfb: Bool
        /// Compare only this direction (nil: both); how sessions closed is then not compared.
        public var direction: Direction?
        /// With `rfb`: which messages are left out or allowed to differ (wsreplay's rules).
        public var rules: RFBRuleSet
        /// With `rfb`: how many differences per stream are kept in the report (all are counted).
        public var differenceLimit: Int

        public init(
            pairs: [(UInt32, UInt32)]? = nil, timingToleranceMicros: UInt64? = nil, rfb: Bool = false,
            direction: Direction? = nil, rules: RFBRuleSet = .standard, differenceLimit: Int = 1000
        ) {
            self.pairs = pairs
            self.timingToleranceMicros = timingToleranceMicros
            self.rfb = rfb
            self.direction = direction
            self.rules = rules
            self.differenceLimit = differenceLimit
        }
    }

    /// Where a stream first differs.
    public struct Divergence: Sendable, Equatable {
        public var offset: UInt64
        /// Index of the record (counted over the whole file from 0) holding that byte, and its time.
        public var recordA: Int?
        public var timeA: UInt64?
        public var recordB: Int?
        public var timeB: UInt64?
        /// Bytes around the divergence: up to 16 before, up to 32 from it; `contextStart` is the
        /// stream offset of the first.
        public var contextStart: UInt64
        public var contextA: [UInt8]
        public var contextB: [UInt8]
    }

    /// The comparison of one direction of one session pair.
    public struct StreamResult: Sendable {
        public var sessionA: UInt32
        public var sessionB: UInt32
        public var direction: Direction
        public var bytesA: UInt64 = 0
        public var bytesB: UInt64 = 0
        public var framesA = 0
        public var framesB = 0
        public var divergence: Divergence?
        /// Index of the first frame whose size differs (framing), when the framing differs.
        public var firstFramingDifference: Int?
        /// Frame starts in B whose bytes came more than the tolerance earlier or later than in A.
        public var timingViolations = 0
        public var worstTimingMicros: UInt64 = 0
        /// With `rfb`: the stream as RFB messages.
        public var rfb: RFBComparison?

        /// True when this stream was judged by its RFB messages rather than its bytes (`--rfb`
        /// and both sides could be followed to the end).
        public var comparedAsRFB: Bool { rfb?.isUsable ?? false }
        public var bytesDiffer: Bool { divergence != nil || bytesA != bytesB }
        public var isSame: Bool {
            if let rfb, rfb.isUsable { return rfb.differenceCount == 0 && rfb.timingViolations == 0 }
            return !bytesDiffer && timingViolations == 0
        }
    }

    public struct Report: Sendable {
        public var streams: [StreamResult] = []
        public var onlyInA: [UInt32] = []
        public var onlyInB: [UInt32] = []
        /// Close records that disagree: (session A, session B, description).
        public var closeDifferences: [String] = []
        public var damagesA: [Damage] = []
        public var damagesB: [Damage] = []
        /// Records each file's writer lost (gap blocks): the file is intact but incomplete.
        public var gapsA: [RecordGap] = []
        public var gapsB: [RecordGap] = []

        public var isSame: Bool {
            onlyInA.isEmpty && onlyInB.isEmpty && closeDifferences.isEmpty && streams.allSatisfy(\.isSame)
        }

        /// The first byte divergence in file order of A (the one to look at first), among the
        /// streams judged by their bytes.
        public var firstDivergence: StreamResult? {
            streams.filter { $0.bytesDiffer && !$0.comparedAsRFB }.min {
                ($0.divergence?.recordA ?? .max, $0.sessionA) < ($1.divergence?.recordA ?? .max, $1.sessionA)
            }
        }
    }
}
