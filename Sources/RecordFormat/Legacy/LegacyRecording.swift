import WebSocketWire

/// The recording format of the Python websockify's `--record` option (docs/record-format.md §8):
/// a JavaScript file `var VNC_frame_data = [` of one single-quoted string per line,
/// `'{MS{…'` for target→client and `'}MS}…'` for client→target, MS being whole milliseconds since
/// the WebSocket handshake, ending with `'EOF'];`. One file holds one session.
public enum LegacyRecording {
    public struct Entry: Sendable, Equatable {
        public var fromClient: Bool
        public var timeMillis: UInt64
        public var payload: [UInt8]

        public init(fromClient: Bool, timeMillis: UInt64, payload: [UInt8]) {
            self.fromClient = fromClient
            self.timeMillis = timeMillis
            self.payload = payload
        }
    }

    public struct Parsed: Sendable, Equatable {
        public var entries: [Entry]
        /// False when the file lacks the closing `'EOF'];` (the proxy was killed).
        public var terminated: Bool
        /// A torn last line that was dropped, when there was one.
        public var damage: Damage?
        /// File offset of each entry's line (its opening quote), for messages that point at one.
        public var entryOffsets: [UInt64] = []
    }

    static let prefix = Array("var VNC_frame_data = [".utf8)

    /// True when `bytes` starts like a legacy recording.
    public static func looksLegacy(_ bytes: some Sequence<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        for expected in prefix {
            guard let b = iterator.next(), b == expected else { return false }
        }
        return true
    }

    /// Parses a legacy recording; accepts a file cut off anywhere (the torn last line is dropped and reported).
    public static func parse(_ bytes: [UInt8], path: String? = nil) throws(RecordFormatError) -> Parsed {
        var parser = Parser(bytes: bytes, path: path)
        return try parser.run()
    }

    /// The legacy file text for `entries`, byte for byte as the Python websockify writes it.
    public static func render(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(64) { $0 + 16 + $1.payload.count * 2 })
        out.append(contentsOf: prefix)
        out.append(0x0A)
        let hex = Array("0123456789abcdef".utf8)
        for entry in entries {
            let brace: UInt8 = entry.fromClient ? 0x7D : 0x7B
            out.append(0x27)
            out.append(brace)
            out.append(contentsOf: String(entry.timeMillis).utf8)
            out.append(brace)
            for byte in entry.payload {
                switch byte {
                case 0x09: out.append(contentsOf: [0x5C, 0x74])
                case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: out.append(contentsOf: [0x5C, 0x72])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x27: out.append(contentsOf: [0x5C, 0x27])
                case 0x20...0x7E: out.append(byte)
                default: out.append(contentsOf: [0x5C, 0x78, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
            }
            out.append(contentsOf: [0x27, 0x2C, 0x0A])
        }
        out.append(contentsOf: Array("'EOF'];\n".utf8))
        return out
    }

    /// The records of one session made from legacy entries: an open record, one binary frame per
    /// entry, and a close record when the file was terminated.
    public static func records(from parsed: Parsed, session: UInt32, startWallMicros: Int64 = 0) -> [Record] {
        var records = [
            Record(
                session: session, timeMicros: 0,
                body: .open(SessionOpen(startWallMicros: startWallMicros, target: .unknown)))
        ]
        var toTarget = DirectionTotals()
        var toClient = DirectionTotals()
        var last: UInt64 = 0
        for entry in parsed.entries {
            let direction: Direction = entry.fromClient ? .clientToTarget : .targetToClient
            if entry.fromClient {
                toTarget.frames += 1
                toTarget.bytes += UInt64(entry.payload.count)
            } else {
                toClient.frames += 1
                toClient.bytes += UInt64(entry.payload.count)
            }
            last = max(last, entry.timeMillis * 1000)
            records.append(
                Record(
                    session: session, timeMicros: entry.timeMillis * 1000,
                    body: .frame(Frame(direction: direction, opcode: .binary, payload: entry.payload))))
        }
        if parsed.terminated {
            records.append(
                Record(
                    session: session, timeMicros: last,
                    body: .close(SessionClose(closedBy: .unknown, clientToTarget: toTarget, targetToClient: toClient))))
        }
        return records
    }

    /// Legacy entries for the data frames of `session` in `records` (control frames have no legacy form).
    public static func entries(from records: some Sequence<Record>, session: UInt32) -> [Entry] {
        var entries: [Entry] = []
        for record in records where record.session == session {
            guard case .frame(let frame) = record.body, !frame.opcode.isControl else { continue }
            entries.append(
                Entry(
                    fromClient: frame.direction == .clientToTarget, timeMillis: record.timeMicros / 1000,
                    payload: frame.payload))
        }
        return entries
    }

    private struct Parser {
        let bytes: [UInt8]
        let path: String?
        var position = 0

        init(bytes: [UInt8], path: String?) {
            self.bytes = bytes
            self.path = path
        }

        func error(_ message: String, at offset: Int) -> RecordFormatError {
            RecordFormatError(.legacySyntax, message, path: path, offset: UInt64(offset))
        }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func run() throws(RecordFormatError) -> Parsed {
            guard looksLegacy(bytes) else {
                throw error("not a legacy websockify recording (it must start with `var VNC_frame_data = [`)", at: 0)
            }
            position = prefix.count
            var result = Parsed(entries: [], terminated: false, damage: nil)
            while true {
                skipWhitespace()
                guard position < bytes.count else { return result }
                let entryStart = position
                if bytes[position] == 0x5D {  // ']' closes the array without the EOF sentinel
                    result.terminated = true
                    return result
                }
                guard bytes[position] == 0x27 else {
                    throw error("expected a quoted frame string, found \(describe(bytes[position]))", at: position)
                }
                position += 1
                guard let text = try readString() else {
                    result.damage = Damage(
                        kind: .truncated, offset: UInt64(entryStart), length: UInt64(bytes.count - entryStart),
                        recordsLost: 1, message: "the last frame line is cut off (the recording proxy was killed)")
                    return result
                }
                skipWhitespace()
                if position < bytes.count {
                    if bytes[position] == 0x2C {
                        position += 1
                    } else if bytes[position] != 0x5D {
                        throw error("expected `,` after a frame string, found \(describe(bytes[position]))", at: position)
                    }
                }
                if text == Array("EOF".utf8) {
                    result.terminated = true
                    return result
                }
                result.entries.append(try entry(text, at: entryStart))
                result.entryOffsets.append(UInt64(entryStart))
            }
        }

        func entry(_ text: [UInt8], at offset: Int) throws(RecordFormatError) -> Entry {
            guard let brace = text.first, brace == 0x7B || brace == 0x7D else {
                throw error("a frame must start with `{` or `}`", at: offset + 1)
            }
            var i = 1
            var millis: UInt64 = 0
            while i < text.count, text[i] >= 0x30, text[i] <= 0x39 {
                let (m, overflow1) = millis.multipliedReportingOverflow(by: 10)
                let (s, overflow2) = m.addingReportingOverflow(UInt64(text[i] - 0x30))
                guard !overflow1, !overflow2, s <= UInt64.max / 1000 else {
                    throw error("frame time is too large", at: offset + 1 + i)
                }
                millis = s
                i += 1
            }
            guard i > 1, i < text.count, text[i] == brace else {
                throw error("a frame must look like {MS{… or }MS}… with MS in milliseconds", at: offset + 1)
            }
            return Entry(fromClient: brace == 0x7D, timeMillis: millis, payload: Array(text[(i + 1)...]))
        }

        /// Reads a single-quoted string's content (decoded to bytes); nil when the input ends inside it.
        mutating func readString() throws(RecordFormatError) -> [UInt8]? {
            var out: [UInt8] = []
            while position < bytes.count {
                let b = bytes[position]
                switch b {
                case 0x27:
                    position += 1
                    return out
                case 0x0A, 0x0D:
                    throw error("unescaped line break inside a frame string", at: position)
                case 0x5C:
                    let escapeStart = position
                    guard position + 1 < bytes.count else { return nil }
                    let e = bytes[position + 1]
                    position += 2
                    switch e {
                    case 0x6E: out.append(0x0A)  // \n
                    case 0x72: out.append(0x0D)  // \r
                    case 0x74: out.append(0x09)  // \t
                    case 0x62: out.append(0x08)  // \b
                    case 0x66: out.append(0x0C)  // \f
                    case 0x76: out.append(0x0B)  // \v
                    case 0x30: out.append(0x00)  // \0
                    case 0x5C, 0x27, 0x22: out.append(e)
                    case 0x78, 0x75:  // \xNN, \uNNNN (only code points up to 0xFF are bytes)
                        let digits = e == 0x78 ? 2 : 4
                        guard position + digits <= bytes.count else { return nil }
                        var value = 0
                        for d in bytes[position..<position + digits] {
                            guard let v = hexValue(d) else {
                                throw error("bad hex digit in escape", at: escapeStart)
                            }
                            value = value * 16 + v
                        }
                        guard value <= 0xFF else {
                            throw error("escape \\u\(value) is not a byte", at: escapeStart)
                        }
                        out.append(UInt8(value))
                        position += digits
                    default:
                        throw error("unknown escape \\\(describe(e))", at: escapeStart)
                    }
                default:
                    guard b < 0x80 else { throw error("non-ASCII byte \(describe(b)) in a frame string", at: position) }
                    out.append(b)
                    position += 1
                }
            }
            return nil
        }

        func hexValue(_ d: UInt8) -> Int? {
            switch d {
            case 0x30...0x39: Int(d - 0x30)
            case 0x61...0x66: Int(d - 0x61 + 10)
            case 0x41...0x46: Int(d - 0x41 + 10)
            default: nil
            }
        }

        func describe(_ b: UInt8) -> String {
            (0x21...0x7E).contains(b) ? "`\(Character(Unicode.Scalar(b)))`" : "byte 0x\(String(b, radix: 16))"
        }
    }
}
