/// What happened while one recorded session was played.
public struct SessionResult: Sendable, Equatable {
    /// The recorded session's number.
    public var session: UInt32
    /// Whether RFB rules were applied.
    public var rfb: Bool
    public var recordedTargetBytes: UInt64
    public var recordedTargetFrames: Int
    public var recordedClientBytes: UInt64
    /// Units the client was expected to send (frames, or significant RFB messages).
    public var expectedClientUnits: Int
    public var matchedClientUnits = 0
    /// RFB FramebufferUpdateRequests and PointerEvents the client sent (not compared).
    public var freeClientMessages = 0
    /// RFB: client messages compared (recorded ones found, changed, missing or reordered, and
    /// extra ones), those that were the same, and those that differed as the rules allow.
    public var checkedClientMessages = 0
    public var sameClientMessages = 0
    public var allowedClientMessages = 0
    /// Recorded target frames not played because a client message they follow never came.
    public var heldBackFrames = 0
    /// The session as it happened (`--record-client`).
    public var transcript: ReplayTranscript?
    public var framesSent = 0
    public var bytesSent: UInt64 = 0
    public var framesReceived = 0
    public var bytesReceived: UInt64 = 0
    /// For each frame sent with a schedule: actual send time minus scheduled time.
    public var latenessNanos: [UInt64] = []
    public var divergences: [Divergence] = []
    public var notes: [String] = []
    public var closedByClient = false
    public var closeCode: UInt16?
    public var durationMicros: UInt64 = 0

    public init(
        session: UInt32, rfb: Bool, recordedTargetBytes: UInt64, recordedTargetFrames: Int,
        recordedClientBytes: UInt64, expectedClientUnits: Int
    ) {
        self.session = session
        self.rfb = rfb
        self.recordedTargetBytes = recordedTargetBytes
        self.recordedTargetFrames = recordedTargetFrames
        self.recordedClientBytes = recordedClientBytes
        self.expectedClientUnits = expectedClientUnits
    }
}
