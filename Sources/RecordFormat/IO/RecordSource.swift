#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Records from a file in either format, detected from its content: ours, or the legacy Python
/// websockify recording (converted on the fly into one session).
public final class RecordSource {
    public enum Format: String, Sendable {
        case native = "websockify-swift"
        case legacy = "websockify-legacy"
    }

    public let path: String
    public let format: Format
    /// The file header (native files only).
    public let header: FileHeader?
    /// Size of the file in bytes.
    public let fileSize: UInt64

    private let native: RecordFileReader?
    private var legacyRecords: [Record] = []
    /// The line of each legacy record (none for the open and close records made up for it).
    private var legacyOffsets: [UInt64?] = []
    private var legacyPosition = 0
    private var legacyDamages: [Damage] = []

    public init(path: String) throws(RecordFormatError) {
        self.path = path
        let fd = try SystemFile.open(path, flags: O_RDONLY)
        var head = [UInt8](repeating: 0, count: 32)
        let n: Int
        do throws(RecordFormatError) {
            n = try SystemFile.read(fd, into: &head, at: 0, path: path)
        } catch {
            close(fd)
            throw error
        }
        if LegacyRecording.looksLegacy(head.prefix(n)) {
            defer { close(fd) }
            let size = try SystemFile.size(fd, path: path)
            var bytes = [UInt8](repeating: 0, count: Int(size))
            let got = try SystemFile.read(fd, into: &bytes, at: 0, path: path)
            let parsed = try LegacyRecording.parse(Array(bytes.prefix(got)), path: path)
            self.fileSize = size
            self.format = .legacy
            self.header = nil
            self.native = nil
            self.legacyRecords = LegacyRecording.records(from: parsed, session: 1)
            self.legacyOffsets = [nil] + parsed.entryOffsets.map { $0 } + (parsed.terminated ? [nil] : [])
            if let damage = parsed.damage { legacyDamages.append(damage) }
        } else {
            close(fd)
            let reader = try RecordFileReader(path: path)
            self.fileSize = reader.fileSize
            self.format = .native
            self.header = reader.header
            self.native = reader
        }
    }

    /// File bytes read so far (for progress reports).
    public var bytesRead: UInt64 { native?.bytesRead ?? fileSize }

    /// Damage found so far (a torn tail, corrupt blocks, a cut-off legacy line).
    public var damages: [Damage] { native?.damages ?? legacyDamages }

    /// Where the record ``nextRecord()`` returned last is (nil for the open and close records a
    /// legacy file gets on import).
    public var lastRecordLocation: RecordLocation? {
        if let native { return native.lastRecordLocation }
        guard legacyPosition > 0, legacyPosition <= legacyOffsets.count else { return nil }
        return legacyOffsets[legacyPosition - 1].map { RecordLocation(offset: $0) }
    }

    /// Records the writer lost, from the gap blocks passed so far (native files only).
    public var gaps: [RecordGap] { native?.gaps ?? [] }

    /// The next record or gap, or nil at the end (see ``RecordFileReader/nextEntry()``).
    public func nextEntry() throws(RecordFormatError) -> RecordEntry? {
        if let native { return try native.nextEntry() }
        return try nextRecord().map(RecordEntry.record)
    }

    /// The next record, or nil at the end (gaps are skipped and kept in ``gaps``).
    public func nextRecord() throws(RecordFormatError) -> Record? {
        if let native { return try native.nextRecord() }
        guard legacyPosition < legacyRecords.count else { return nil }
        defer { legacyPosition += 1 }
        return legacyRecords[legacyPosition]
    }

    /// Every remaining record.
    public func readAll() throws(RecordFormatError) -> [Record] {
        var all: [Record] = []
        while let record = try nextRecord() { all.append(record) }
        return all
    }
}
