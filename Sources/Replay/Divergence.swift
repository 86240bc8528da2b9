/// A difference between what the recording says and what happened during the replay.
public struct Divergence: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
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
        /// RFB: the client sent a recorded message later than recorded (after messages recorded after it).
        case reordered
    }

    /// RFB: what kind of difference a client message is, for `--rules` writers and reports.
    public enum Change: String, Sendable, Codable {
        /// Another message (or the same type with other contents) where the recording has one.
        case changed
        /// A recorded message the client did not send.
        case missing
        /// A message the recording does not have.
        case extra
        /// A recorded message sent out of the recorded order.
        case reordered
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
    /// RFB: the class of the difference (`kind` keeps its older names: `mismatch` for changed).
    public var change: Change?
    /// RFB: the recorded message and the client's, decoded (`KeyEvent 'o' (0x6f) down`).
    public var recordedMessage: String?
    public var actualMessage: String?
    /// RFB: the recorded message's index among the session's client messages (`--rules` exceptions).
    public var clientMessage: Int?

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

    /// The bytes of one message (`length` from `offset`), as spaced hex: the first `limit` of
    /// them and `…` when it is longer, so that both sides' excerpts end where their messages do.
    static func hex(_ bytes: [UInt8], message offset: UInt64, length: UInt64, limit: Int = 48) -> String {
        guard offset < UInt64(bytes.count) else { return "" }
        let shown = Int(min(length, UInt64(limit)))
        return hex(bytes, from: Int(offset), count: shown) + (length > UInt64(shown) ? " …" : "")
    }
}
