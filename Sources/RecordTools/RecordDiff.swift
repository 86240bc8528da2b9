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
        /// Compare client→target traffic as RFB messages, per message type.
        public var rfb: Bool

        public init(pairs: [(UInt32, UInt32)]? = nil, timingToleranceMicros: UInt64? = nil, rfb: Bool = false) {
            self.pairs = pairs
            self.timingToleranceMicros = timingToleranceMicros
            self.rfb = rfb
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
        /// With `rfb`: message types whose sequences differ, with counts in A and B.
        public var rfbDifferences: [RFBTypeDifference] = []
        /// True when this stream was judged by its RFB messages rather than its bytes (`--rfb`).
        public var comparedAsRFB = false

        public var bytesDiffer: Bool { divergence != nil || bytesA != bytesB }
        public var isSame: Bool {
            (comparedAsRFB ? rfbDifferences.isEmpty : !bytesDiffer) && timingViolations == 0
        }
    }

    public struct RFBTypeDifference: Sendable, Equatable {
        public var type: String
        public var countA: Int
        public var countB: Int
        /// Position (among messages of this type) of the first that differs.
        public var firstDifference: Int
    }

    public struct Report: Sendable {
        public var streams: [StreamResult] = []
        public var onlyInA: [UInt32] = []
        public var onlyInB: [UInt32] = []
        /// Close records that disagree: (session A, session B, description).
        public var closeDifferences: [String] = []
        public var damagesA: [Damage] = []
        public var damagesB: [Damage] = []

        public var isSame: Bool {
            onlyInA.isEmpty && onlyInB.isEmpty && closeDifferences.isEmpty && streams.allSatisfy(\.isSame)
        }

        /// The first stream divergence in file order of A (the one to look at first).
        public var firstDivergence: StreamResult? {
            streams.filter { $0.bytesDiffer }.min {
                ($0.divergence?.recordA ?? .max, $0.sessionA) < ($1.divergence?.recordA ?? .max, $1.sessionA)
            }
        }
    }
}
