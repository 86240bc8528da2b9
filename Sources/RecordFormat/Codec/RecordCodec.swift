import WebSocketWire

/// Encoding of records inside a block's uncompressed payload (see docs/record-format.md §4).
enum RecordCodec {
    /// kind u8, flags u8, opcode u8, reserved u8, session u32, time u64, body length u32.
    static let headerLength = 20

    enum KindByte: UInt8 {
        case open = 1
        case close = 2
        case frame = 3
        case marker = 4
    }

    enum Flag {
        static let targetToClient: UInt8 = 0x01
        static let redacted: UInt8 = 0x02
        static let final: UInt8 = 0x04
    }

    enum OpenTag: UInt8 {
        case startWall = 1, client = 2, listen = 3, target = 4, path = 5, subprotocol = 6, tls = 7, origin = 8, via = 9, identity = 10
    }

    enum CloseTag: UInt8 {
        case closedBy = 1, code = 2, reason = 3
        case framesClientToTarget = 4, bytesClientToTarget = 5, framesTargetToClient = 6, bytesTargetToClient = 7
    }

    /// Appends `record` to `out`.
    static func encode(_ record: Record, into out: inout [UInt8]) {
        switch record.body {
        case .frame(let frame):
            let reference = FrameRecord(session: record.session, timeMicros: record.timeMicros, frame: frame)
            encodeHeader(of: reference, into: &out)
            out.append(contentsOf: frame.payload)
        case .marker(let text):
            let utf8 = Array(text.utf8)
            appendHeader(.marker, flags: 0, opcode: 0, record, bodyLength: utf8.count, &out)
            out.append(contentsOf: utf8)
        case .open(let open):
            let body = encodeOpen(open)
            appendHeader(.open, flags: 0, opcode: 0, record, bodyLength: body.count, &out)
            out.append(contentsOf: body)
        case .close(let close):
            let body = encodeClose(close)
            appendHeader(.close, flags: 0, opcode: 0, record, bodyLength: body.count, &out)
            out.append(contentsOf: body)
        }
    }

    /// Appends the 20-byte header of a frame record; its payload follows it.
    static func encodeHeader(of frame: FrameRecord, into out: inout [UInt8]) {
        var flags: UInt8 = 0
        if frame.direction == .targetToClient { flags |= Flag.targetToClient }
        if frame.isRedacted { flags |= Flag.redacted }
        if frame.isFinal { flags |= Flag.final }
        appendHeader(
            .frame, flags: flags, opcode: frame.opcode.rawValue, session: frame.session, timeMicros: frame.timeMicros,
            bodyLength: frame.payload.byteCount, &out)
    }

    /// Bytes `record` takes when encoded (used for block size accounting).
    static func encodedSize(_ record: Record) -> Int {
        switch record.body {
        case .frame(let frame): headerLength + frame.payload.count
        case .marker(let text): headerLength + text.utf8.count
        case .open, .close: headerLength + 256
        }
    }

    private static func appendHeader(
        _ kind: KindByte, flags: UInt8, opcode: UInt8, _ record: Record, bodyLength: Int, _ out: inout [UInt8]
    ) {
        appendHeader(
            kind, flags: flags, opcode: opcode, session: record.session, timeMicros: record.timeMicros,
            bodyLength: bodyLength, &out)
    }

    private static func appendHeader(
        _ kind: KindByte, flags: UInt8, opcode: UInt8, session: UInt32, timeMicros: UInt64, bodyLength: Int,
        _ out: inout [UInt8]
    ) {
        out.append(kind.rawValue)
        out.append(flags)
        out.append(opcode)
        out.append(0)
        out.appendLE(session)
        out.appendLE(timeMicros)
        out.appendLE(UInt32(bodyLength))
    }

    private static func field(_ tag: UInt8, _ value: [UInt8], _ out: inout [UInt8]) {
        out.append(tag)
        out.appendLE(UInt16(min(value.count, Int(UInt16.max))))
        out.append(contentsOf: value.prefix(Int(UInt16.max)))
    }

    private static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(value)
        return out
    }

    static func encodeOpen(_ open: SessionOpen) -> [UInt8] {
        var out: [UInt8] = []
        field(OpenTag.startWall.rawValue, le(open.startWallMicros), &out)
        field(OpenTag.client.rawValue, utf8Prefix(open.clientAddress, limit: Int(UInt16.max)), &out)
        field(OpenTag.listen.rawValue, utf8Prefix(open.listenAddress, limit: Int(UInt16.max)), &out)
        let targetValue: String
        switch open.target {
        case .hostPort(let s), .unixSocket(let s), .token(let s): targetValue = s
        case .unknown: targetValue = ""
        }
        field(OpenTag.target.rawValue, [open.target.kindByte] + utf8Prefix(targetValue, limit: Int(UInt16.max) - 1), &out)
        field(OpenTag.path.rawValue, utf8Prefix(open.requestPath, limit: Int(UInt16.max)), &out)
        if let subprotocol = open.subprotocol {
            field(OpenTag.subprotocol.rawValue, utf8Prefix(subprotocol, limit: Int(UInt16.max)), &out)
        }
        field(OpenTag.tls.rawValue, [open.tls ? 1 : 0], &out)
        if let origin = open.origin { field(OpenTag.origin.rawValue, utf8Prefix(origin, limit: Int(UInt16.max)), &out) }
        if let via = open.viaAddress { field(OpenTag.via.rawValue, utf8Prefix(via, limit: Int(UInt16.max)), &out) }
        if let identity = open.identity {
            field(OpenTag.identity.rawValue, identity.uuid + utf8Prefix(identity.instance, limit: Int(UInt16.max) - 16), &out)
        }
        return out
    }

    static func encodeClose(_ close: SessionClose) -> [UInt8] {
        var out: [UInt8] = []
        field(CloseTag.closedBy.rawValue, [close.closedBy.rawValue], &out)
        if let code = close.code { field(CloseTag.code.rawValue, le(code), &out) }
        field(CloseTag.reason.rawValue, utf8Prefix(close.reason, limit: Int(UInt16.max)), &out)
        field(CloseTag.framesClientToTarget.rawValue, le(close.clientToTarget.frames), &out)
        field(CloseTag.bytesClientToTarget.rawValue, le(close.clientToTarget.bytes), &out)
        field(CloseTag.framesTargetToClient.rawValue, le(close.targetToClient.frames), &out)
        field(CloseTag.bytesTargetToClient.rawValue, le(close.targetToClient.bytes), &out)
        return out
    }

    /// Decodes every record of a block payload, or says what is wrong at which payload offset.
    static func decodeAll(_ payload: UnsafeRawBufferPointer, expectedCount: Int) -> Result<[Record], DecodeFailure> {
        var records: [Record] = []
        records.reserveCapacity(expectedCount)
        var position = 0
        while position < payload.count {
            guard payload.count - position >= headerLength else {
                return .failure(.init(offset: position, message: "record header cut off"))
            }
            let kindByte = payload[position]
            let flags = payload[position + 1]
            let opcode = payload[position + 2]
            let session = loadLE(payload, position + 4, as: UInt32.self)
            let time = loadLE(payload, position + 8, as: UInt64.self)
            let length = Int(loadLE(payload, position + 16, as: UInt32.self))
            let bodyStart = position + headerLength
            guard length <= payload.count - bodyStart else {
                return .failure(.init(offset: position, message: "record body of \(length) bytes overruns the block"))
            }
            let body = UnsafeRawBufferPointer(rebasing: payload[bodyStart..<bodyStart + length])
            let decodedBody: Record.Body
            switch KindByte(rawValue: kindByte) {
            case .frame:
                decodedBody = .frame(
                    Frame(
                        direction: flags & Flag.targetToClient != 0 ? .targetToClient : .clientToTarget,
                        opcode: Opcode(rawValue: opcode), payload: [UInt8](body),
                        isFinal: flags & Flag.final != 0, isRedacted: flags & Flag.redacted != 0))
            case .marker:
                decodedBody = .marker(String(decoding: body, as: UTF8.self))
            case .open:
                guard let open = decodeOpen(body) else {
                    return .failure(.init(offset: position, message: "malformed open record"))
                }
                decodedBody = .open(open)
            case .close:
                guard let close = decodeClose(body) else {
                    return .failure(.init(offset: position, message: "malformed close record"))
                }
                decodedBody = .close(close)
            case nil:
                return .failure(.init(offset: position, message: "unknown record kind \(kindByte)"))
            }
            records.append(Record(session: session, timeMicros: time, body: decodedBody))
            position = bodyStart + length
        }
        guard records.count == expectedCount else {
            return .failure(
                .init(offset: position, message: "block holds \(records.count) records, header says \(expectedCount)"))
        }
        return .success(records)
    }

    struct DecodeFailure: Error {
        var offset: Int
        var message: String
    }

    /// Walks tag-length-value fields; unknown tags are skipped (they belong to newer minor versions).
    private static func fields(_ body: UnsafeRawBufferPointer, _ visit: (UInt8, UnsafeRawBufferPointer) -> Void) -> Bool {
        var cursor = ByteCursor(body)
        while cursor.remaining > 0 {
            guard let tag = cursor.read(UInt8.self), let length = cursor.read(UInt16.self),
                let value = cursor.readBytes(Int(length))
            else { return false }
            visit(tag, value)
        }
        return true
    }

    private static func string(_ value: UnsafeRawBufferPointer) -> String { String(decoding: value, as: UTF8.self) }

    private static func integer<T: FixedWidthInteger>(_ value: UnsafeRawBufferPointer, _: T.Type) -> T? {
        value.count == MemoryLayout<T>.size ? loadLE(value, 0, as: T.self) : nil
    }

    static func decodeOpen(_ body: UnsafeRawBufferPointer) -> SessionOpen? {
        var open = SessionOpen(startWallMicros: 0)
        var valid = true
        let parsed = fields(body) { tag, value in
            switch OpenTag(rawValue: tag) {
            case .startWall:
                if let v = integer(value, Int64.self) { open.startWallMicros = v } else { valid = false }
            case .client: open.clientAddress = string(value)
            case .listen: open.listenAddress = string(value)
            case .target:
                guard let kind = value.first else { valid = false; return }
                let text = string(UnsafeRawBufferPointer(rebasing: value.dropFirst()))
                switch kind {
                case 1: open.target = .hostPort(text)
                case 2: open.target = .unixSocket(text)
                case 3: open.target = .token(text)
                default: open.target = .unknown
                }
            case .path: open.requestPath = string(value)
            case .subprotocol: open.subprotocol = string(value)
            case .tls: open.tls = value.first.map { $0 != 0 } ?? false
            case .origin: open.origin = string(value)
            case .via: open.viaAddress = string(value)
            case .identity:
                guard value.count >= 16 else { valid = false; return }
                open.identity = SessionIdentity(
                    uuid: Array(value.prefix(16)), instance: string(UnsafeRawBufferPointer(rebasing: value.dropFirst(16))))
            case nil: break
            }
        }
        return parsed && valid ? open : nil
    }

    static func decodeClose(_ body: UnsafeRawBufferPointer) -> SessionClose? {
        var close = SessionClose(closedBy: .unknown)
        var valid = true
        let parsed = fields(body) { tag, value in
            switch CloseTag(rawValue: tag) {
            case .closedBy: close.closedBy = value.first.flatMap { Closer(rawValue: $0) } ?? .unknown
            case .code:
                if let v = integer(value, UInt16.self) { close.code = v } else { valid = false }
            case .reason: close.reason = string(value)
            case .framesClientToTarget:
                if let v = integer(value, UInt64.self) { close.clientToTarget.frames = v } else { valid = false }
            case .bytesClientToTarget:
                if let v = integer(value, UInt64.self) { close.clientToTarget.bytes = v } else { valid = false }
            case .framesTargetToClient:
                if let v = integer(value, UInt64.self) { close.targetToClient.frames = v } else { valid = false }
            case .bytesTargetToClient:
                if let v = integer(value, UInt64.self) { close.targetToClient.bytes = v } else { valid = false }
            case nil: break
            }
        }
        return parsed && valid ? close : nil
    }
}
