/// A difference between what the recording says and what happened during the replay.
public struct Divergence: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// The client sent different bytes (or a different RFB message) than recorded.
        case mismatch
        /// The client sent more than the recording holds.
        case extra
        /// The client did not send what the recording expects (in time, or before it closed).
        case missing
        /// The session ended before the recorded target data had all been sent.
        case incomplete
        /// The client's stream could not be followed (e.g. an RFB message type the parser does not know).
        case unparseable
    }

    public var session: UInt32
    public var kind: Kind
    /// `client` (client→target stream) or `target` (target→client stream).
    public var stream: String
    public var message: String
    /// Offset in the recorded stream.
    public var recordedOffset: UInt64?
    /// Offset in the stream actually sent during the replay.
    public var actualOffset: UInt64?
    /// Index of the record (0-based, in the file) holding the recorded bytes.
    public var recordIndex: Int?
    /// When the recorded bytes were sent, µs since the session started.
    public var recordedTimeMicros: UInt64?
    /// When the replay noticed the divergence, µs since the replayed session started.
    public var actualTimeMicros: UInt64?
    /// A hex excerpt of the recorded bytes from `recordedOffset` (up to 32 bytes).
    public var recordedHex: String
    /// A hex excerpt of the actual bytes from `actualOffset` (up to 32 bytes).
    public var actualHex: String

    public init(
        session: UInt32, kind: Kind, stream: String, message: String, recordedOffset: UInt64? = nil,
        actualOffset: UInt64? = nil, recordIndex: Int? = nil, recordedTimeMicros: UInt64? = nil,
        actualTimeMicros: UInt64? = nil, recordedHex: String = "", actualHex: String = ""
    ) {
        self.session = session
        self.kind = kind
        self.stream = stream
        self.message = message
        self.recordedOffset = recordedOffset
        self.actualOffset = actualOffset
        self.recordIndex = recordIndex
        self.recordedTimeMicros = recordedTimeMicros
        self.actualTimeMicros = actualTimeMicros
        self.recordedHex = recordedHex
        self.actualHex = actualHex
    }

    /// Up to `count` bytes of `bytes` from `offset`, as spaced hex.
    static func hex(_ bytes: [UInt8], from offset: Int, count: Int = 32) -> String {
        guard offset >= 0, offset < bytes.count else { return "" }
        let digits = Array("0123456789abcdef")
        return bytes[offset..<min(bytes.count, offset + count)].map {
            String([digits[Int($0 >> 4)], digits[Int($0 & 15)]])
        }
        .joined(separator: " ")
    }
}
