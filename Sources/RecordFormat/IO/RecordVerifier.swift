/// What `wsrecord-inspect verify` checks and reports.
public struct VerifyReport: Sendable {
    public var path: String
    public var header: FileHeader
    public var blocks = 0
    public var storedBlocks = 0
    public var deflatedBlocks = 0
    public var records = 0
    public var sessions: Set<UInt32> = []
    public var payloadBytes: UInt64 = 0
    public var fileSize: UInt64 = 0
    /// True when the file ends with a trailer whose index matches the blocks.
    public var hasIndex = false
    public var damages: [Damage] = []
    /// Problems that are not damage to blocks, e.g. an index that disagrees with the blocks.
    public var problems: [String] = []
    /// Records whose time is out of range (one per session; also listed in ``problems``).
    public var timeProblems: [RecordTimeline.Finding] = []
    /// Sessions whose times run backwards, or with records after their close: every record is
    /// intact and the tools cope, but an index seek (§5.1) may start after such a record. Not a
    /// problem for ``isClean``.
    public var timeWarnings: [RecordTimeline.Finding] = []
    /// Records the writer lost, as the file's gap blocks say (§5.4).
    public var gaps: [RecordGap] = []

    /// True when everything checked out.
    public var isClean: Bool { damages.isEmpty && problems.isEmpty }
    /// True when the writer lost nothing (no gap blocks).
    public var isComplete: Bool { gaps.isEmpty }
}

public enum RecordVerifier {
    /// Reads every block of `path`, checking CRCs, decompression, record structure and the index.
    public static func verify(path: String, progress: ProgressCallback? = nil) throws(RecordFormatError) -> VerifyReport {
        let reader = try RecordFileReader(path: path)
        var report = VerifyReport(path: path, header: reader.header)
        report.fileSize = reader.fileSize
        var scanned = RecordIndex()
        var lastIndex: (offset: UInt64, index: RecordIndex)?
        var timeline = RecordTimeline()
        while let block = try reader.nextBlock() {
            progress?(reader.bytesRead, reader.fileSize)
            report.blocks += 1
            if block.header.codec == .stored { report.storedBlocks += 1 } else { report.deflatedBlocks += 1 }
            scanned.add(block)
            switch block.content {
            case .records(let records):
                report.records += records.count
                for (position, record) in records.enumerated() {
                    _ = timeline.place(record, at: RecordLocation(offset: block.offset, indexInBlock: position))
                    if record.session != 0 { report.sessions.insert(record.session) }
                    if case .frame(let frame) = record.body { report.payloadBytes += UInt64(frame.payload.count) }
                }
            case .index(let index):
                lastIndex = (block.offset, index)
            case .gap(let gap):
                report.gaps.append(gap)
            case .trailer(let indexOffset, _):
                if block.offset + UInt64(block.totalLength) == reader.fileSize {
                    if let lastIndex, lastIndex.offset == indexOffset {
                        if lastIndex.index == scanned {
                            report.hasIndex = true
                        } else {
                            report.problems.append(
                                "the index at byte \(indexOffset) does not match the blocks in the file")
                        }
                    } else {
                        report.problems.append("the trailer at byte \(block.offset) points at no index block")
                    }
                }
            }
        }
        report.damages = reader.damages
        report.timeProblems = timeline.outOfRange
        report.timeWarnings = timeline.warnings
        report.problems += timeline.outOfRange.map(\.description)
        return report
    }
}
