import RecordFormat
import TestSupport
import WebSocketWire

/// Appends records to a writer and remembers what it handed over, to compare with the file.
public struct GapScenario {
    /// Session start times the gap tests use (wall-clock µs).
    public static let start1: Int64 = 1_764_000_000_000_000
    public static let start2: Int64 = 1_764_000_000_250_000

    public let writer: RecordFileWriter
    public var appended: [Record] = []
    public var sequence = 0

    public init(writer: RecordFileWriter) { self.writer = writer }

    public mutating func append(_ record: Record) {
        appended.append(record)
        try? writer.append(record)  // a dropped block throws; the writer goes on
    }

    public mutating func open(_ session: UInt32, start: Int64) {
        append(
            Record(
                session: session, timeMicros: 0,
                body: .open(SessionOpen(startWallMicros: start, target: .hostPort("127.0.0.1:5900")))))
    }

    /// A frame whose payload starts with a sequence number (to check order) and does not compress.
    public mutating func frame(_ session: UInt32, _ direction: Direction, size: Int, at time: UInt64) {
        var payload = noise(size, seed: UInt64(sequence))
        withUnsafeBytes(of: UInt32(sequence).littleEndian) { payload.replaceSubrange(0..<4, with: $0) }
        sequence += 1
        append(
            Record(
                session: session, timeMicros: time,
                body: .frame(Frame(direction: direction, opcode: .binary, payload: payload))))
    }

    public mutating func close(_ session: UInt32, at time: UInt64) {
        append(Record(session: session, timeMicros: time, body: .close(SessionClose(closedBy: .target, code: 1000))))
    }

    /// A writer with blocks of at most 8 KiB on a disk of `diskSize` bytes that got session 1 and
    /// 100 frames of 1500 bytes.
    public static func floodSessionOne(_ path: String, diskSize: UInt64) throws -> (FakeDisk, RecordFileWriter, GapScenario) {
        let disk = FakeDisk(size: diskSize)
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 8192
        let writer = try RecordFileWriter(path: path, configuration: configuration, clock: ManualClock())
        writer.system = disk.system()
        var scenario = GapScenario(writer: writer)
        scenario.open(1, start: start1)
        for i in 0..<100 { scenario.frame(1, .targetToClient, size: 1500, at: UInt64(i)) }
        return (disk, writer, scenario)
    }
}
