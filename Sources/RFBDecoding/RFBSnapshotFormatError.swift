/// Why bytes are not a keyframe snapshot (``RFBDecoderSnapshot/init(serialized:)``), or a
/// snapshot cannot be resumed from; `offset` is the byte of the serialized form concerned.
public struct RFBSnapshotFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int?
    public var message: String

    public init(offset: Int?, message: String) {
        self.offset = offset
        self.message = message
    }

    /// `keyframe snapshot: CRC-32 mismatch at byte 1234`.
    public var description: String {
        "keyframe snapshot: \(message)" + (offset.map { " at byte \($0)" } ?? "")
    }
}
