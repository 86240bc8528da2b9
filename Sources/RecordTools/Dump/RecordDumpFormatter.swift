import RecordFormat
import WebSocketWire

/// Turns records into the lines `wsrecord-inspect dump` prints (docs/wsrecord-inspect.md).
public struct RecordDumpFormatter: Sendable {
    /// Include `payload_b64` in JSON lines.
    public var includePayload: Bool
    /// Printable characters shown in text lines.
    public var previewLength: Int

    public init(includePayload: Bool = false, previewLength: Int = 48) {
        self.includePayload = includePayload
        self.previewLength = previewLength
    }

    /// The JSON `kind` of a record: `open`, `close`, `marker`, or for frames `data`, `ping`, `pong`, `close`.
    public static func kindName(_ record: Record) -> String {
        switch record.body {
        case .open: "open"
        case .close: "close"
        case .marker: "marker"
        case .frame(let frame):
            switch frame.opcode {
            case .ping: "ping"
            case .pong: "pong"
            case .close: "close"
            default: "data"
            }
        }
    }

    /// One human-readable line: time, session, direction arrow, kind, length, preview.
    public func textLine(_ record: Record) -> String {
        let time =
            record.session == 0
            ? RecordTime.wall(fileLevelTime: record.timeMicros).map { TextEncoding.isoDate(wallMicros: $0) }
                ?? "\(record.timeMicros) µs"
            : TextEncoding.seconds(micros: record.timeMicros)
        var line = pad(time, 12) + " s" + pad(String(record.session), 3, left: false)
        switch record.body {
        case .frame(let frame):
            let arrow = frame.direction == .clientToTarget ? "c→t" : "t→c"
            var kind = frame.opcode.description
            if !frame.isFinal { kind += "+" }
            line += " \(arrow) " + pad(kind, 12, left: false) + pad(String(frame.payload.count), 8) + "  "
            if frame.isRedacted {
                line += "[redacted]"
            } else if frame.opcode == .close, frame.payload.count >= 2 {
                let code = UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
                line += "code=\(code) " + TextEncoding.preview(Array(frame.payload.dropFirst(2)), limit: previewLength)
            } else {
                line += TextEncoding.preview(frame.payload, limit: previewLength)
            }
        case .open(let open):
            line += " ·   " + pad("open", 12, left: false) + pad("", 8) + "  "
            line += "client=\(open.clientAddress)" + (open.viaAddress.map { " via=\($0)" } ?? "")
            line += " listen=\(open.listenAddress) target=\(open.target.displayString)"
            line += " path=\(open.requestPath) protocol=\(open.subprotocol ?? "-") tls=\(open.tls ? "yes" : "no")"
            line += " start=" + (open.startWallMicros == 0 ? "unknown" : TextEncoding.isoDate(wallMicros: open.startWallMicros))
            if let identity = open.identity { line += " id=\(identity.description)" }
        case .close(let close):
            line += " ·   " + pad("close", 12, left: false) + pad("", 8) + "  "
            line += "by=\(close.closedBy.name) code=\(close.code.map(String.init) ?? "-")"
            if !close.reason.isEmpty { line += " reason=\(TextEncoding.jsonString(close.reason))" }
            line += " c→t=\(close.clientToTarget.frames) frames/\(close.clientToTarget.bytes) bytes"
            line += " t→c=\(close.targetToClient.frames) frames/\(close.targetToClient.bytes) bytes"
        case .marker(let text):
            line += " ·   " + pad("marker", 12, left: false) + pad(String(text.utf8.count), 8) + "  " + text
        }
        while line.last == " " { line.removeLast() }
        return line
    }

    /// One JSON object (no trailing newline) with keys `session`, `time_us`, `from`, `kind`,
    /// `length` and per kind more.
    public func jsonLine(_ record: Record) -> String {
        var fields: [(String, String)] = [("session", String(record.session)), ("time_us", String(record.timeMicros))]
        switch record.body {
        case .frame(let frame):
            fields.append(("from", TextEncoding.jsonString(frame.direction.senderName)))
            fields.append(("kind", TextEncoding.jsonString(Self.kindName(record))))
            fields.append(("opcode", TextEncoding.jsonString(frame.opcode.description)))
            fields.append(("length", String(frame.payload.count)))
            fields.append(("fin", frame.isFinal ? "true" : "false"))
            if frame.isRedacted { fields.append(("redacted", "true")) }
            if includePayload { fields.append(("payload_b64", TextEncoding.jsonString(TextEncoding.base64(frame.payload)))) }
        case .open(let open):
            fields.append(("kind", "\"open\""))
            fields.append(("length", "0"))
            fields.append(("start_wall_us", String(open.startWallMicros)))
            fields.append(("client", TextEncoding.jsonString(open.clientAddress)))
            if let via = open.viaAddress { fields.append(("via", TextEncoding.jsonString(via))) }
            fields.append(("listen", TextEncoding.jsonString(open.listenAddress)))
            fields.append(("target", TextEncoding.jsonString(open.target.displayString)))
            fields.append(("path", TextEncoding.jsonString(open.requestPath)))
            fields.append(("subprotocol", open.subprotocol.map(TextEncoding.jsonString) ?? "null"))
            fields.append(("tls", open.tls ? "true" : "false"))
            if let identity = open.identity {
                fields.append(("session_id", TextEncoding.jsonString(identity.uuidString)))
                fields.append(("instance", TextEncoding.jsonString(identity.instance)))
            }
        case .close(let close):
            fields.append(("kind", "\"close\""))
            fields.append(("length", "0"))
            fields.append(("closed_by", TextEncoding.jsonString(close.closedBy.name)))
            fields.append(("code", close.code.map { String($0) } ?? "null"))
            fields.append(("reason", TextEncoding.jsonString(close.reason)))
            fields.append(("client_frames", String(close.clientToTarget.frames)))
            fields.append(("client_bytes", String(close.clientToTarget.bytes)))
            fields.append(("target_frames", String(close.targetToClient.frames)))
            fields.append(("target_bytes", String(close.targetToClient.bytes)))
        case .marker(let text):
            fields.append(("kind", "\"marker\""))
            fields.append(("length", String(text.utf8.count)))
            fields.append(("text", TextEncoding.jsonString(text)))
        }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// `text` as a JSON string literal, quotes included.
    public static func jsonQuoted(_ text: String) -> String { TextEncoding.jsonString(text) }

    /// A full hex dump of a frame's payload: offset, 16 bytes in hex, printable characters.
    public func hexLines(_ record: Record) -> [String] {
        guard case .frame(let frame) = record.body, !frame.payload.isEmpty else { return [] }
        let digits = Array("0123456789abcdef".utf8)
        var lines: [String] = []
        lines.reserveCapacity(frame.payload.count / 16 + 1)
        var offset = 0
        while offset < frame.payload.count {
            let row = frame.payload[offset..<min(offset + 16, frame.payload.count)]
            var line: [UInt8] = Array("      ".utf8)
            let position = String(offset, radix: 16)
            line += Array((String(repeating: "0", count: max(0, 8 - position.count)) + position).utf8)
            line += [0x20, 0x20]
            for (i, byte) in row.enumerated() {
                line += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)], 0x20]
                if i == 7 { line.append(0x20) }
            }
            let missing = 16 - row.count
            line += [UInt8](repeating: 0x20, count: missing * 3 + (row.count <= 8 ? 1 : 0))
            line += [0x20, 0x7C]
            line += row.map { (0x20...0x7E).contains($0) ? $0 : 0x2E }
            line.append(0x7C)
            lines.append(String(decoding: line, as: UTF8.self))
            offset += 16
        }
        return lines
    }

    /// A JSON object for a damage report line.
    public static func jsonDamage(_ damage: Damage, path: String) -> String {
        var text = "{\"damage\":\(TextEncoding.jsonString(damage.kind.rawValue)),\"file\":\(TextEncoding.jsonString(path))"
        text += ",\"offset\":\(damage.offset),\"length\":\(damage.length)"
        if let lost = damage.recordsLost { text += ",\"records_lost\":\(lost)" }
        return text + ",\"message\":\(TextEncoding.jsonString(damage.message))}"
    }

    /// A JSON object for a finding about record times (``RecordTimeline/Finding``).
    public static func jsonTimeFinding(_ finding: RecordTimeline.Finding, path: String) -> String {
        var text = "{\"problem\":\(TextEncoding.jsonString(finding.kind.rawValue)),\"file\":\(TextEncoding.jsonString(path))"
        text += ",\"offset\":\(finding.location.map { String($0.offset) } ?? "null")"
        text += ",\"record\":\(finding.location?.indexInBlock.map { String($0) } ?? "null")"
        text += ",\"session\":\(finding.session),\"time_us\":\(finding.timeMicros),\"count\":\(finding.count)"
        return text + ",\"message\":\(TextEncoding.jsonString(finding.message))}"
    }

    private func pad(_ text: String, _ width: Int, left: Bool = true) -> String {
        let count = text.count
        guard count < width else { return text }
        let fill = String(repeating: " ", count: width - count)
        return left ? fill + text : text + fill
    }
}
