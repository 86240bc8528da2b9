/// Where a record is in its file, for messages that point at it.
public struct RecordLocation: Sendable, Equatable, CustomStringConvertible {
    /// File offset of the record's block header in our format (records inside a deflated block have
    /// no file offset of their own), or of the record's line in a legacy file.
    public var offset: UInt64
    /// The record's position in its block, counted from 0; nil for legacy files.
    public var indexInBlock: Int?

    public init(offset: UInt64, indexInBlock: Int? = nil) {
        self.offset = offset
        self.indexInBlock = indexInBlock
    }

    /// E.g. `record 3 of the block at byte 53`, or `the line at byte 120`.
    public var description: String {
        guard let indexInBlock else { return "the line at byte \(offset)" }
        return "record \(indexInBlock) of the block at byte \(offset)"
    }
}
