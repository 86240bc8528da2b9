/// A point a ``SessionPlayback`` can go on from without decoding what came before: the decoder's
/// snapshot (`RFBDecoderSnapshot.serialized`) after a record of the session, and where that
/// record is in the file.
struct Keyframe: Sendable, Equatable {
    /// The latest time of the records applied up to here: the keyframe serves moments from it on.
    var reachedMicros: UInt64
    /// Records of the session applied up to here (the open record included).
    var ordinal: UInt64
    /// The last record applied.
    var position: SessionRecords.Position
    /// The target's frames were lost before this point: nothing more is drawn.
    var frozen: Bool
    /// `RFBDecoderSnapshot.serialized`: its own checksum is checked when it is used.
    var snapshot: [UInt8]
}
