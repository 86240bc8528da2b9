import RecordFormat
import WebSocketWire

/// A replayed session as it happened against the client under test (`--record-client`): the
/// frames played and the client's frames, at their times since the session started, and how it
/// closed; written as a recording so that `wsrecord-inspect diff --rfb ORIGINAL OUT` compares the
/// two sessions whole.
public struct ReplayTranscript: Sendable, Equatable {
    /// The open record, the data frames in the order they crossed, and the close once there is one
    /// (numbered session 0 until written).
    public private(set) var records: [Record]

    public init(open: SessionOpen) {
        records = [Record(session: 0, timeMicros: 0, body: .open(open))]
    }

    /// Bytes one side sent, as one binary frame (the client's payload as it arrived, or a frame played).
    public mutating func add(_ direction: Direction, _ bytes: [UInt8], atMicros time: UInt64) {
        records.append(
            Record(session: 0, timeMicros: time, body: .frame(Frame(direction: direction, opcode: .binary, payload: bytes))))
    }

    /// How the session ended.
    public mutating func closed(by closer: Closer, code: UInt16?, atMicros time: UInt64) {
        records.append(
            Record(session: 0, timeMicros: time, body: .close(SessionClose(closedBy: closer, code: code, reason: ""))))
    }

    /// Writes `transcripts` to a new recording at `path` (it must not exist yet), as sessions
    /// numbered 1, 2, … in order.
    public static func write(_ transcripts: [ReplayTranscript], to path: String) throws(RecordFormatError) {
        let writer = try RecordFileWriter(path: path, createNew: true)
        for (index, transcript) in transcripts.enumerated() {
            for var record in transcript.records {
                record.session = UInt32(index + 1)
                try writer.append(record)
            }
        }
        try writer.close()
    }
}
