import RecordFormat
import Testing
import WebSocketWire

@testable import Replay

/// A session built from (time ms, direction, bytes) triples, as records of session 1.
func makeSession(
    _ frames: [(UInt64, Direction, [UInt8])], subprotocol: String? = "binary", closedBy: Closer? = .target,
    code: UInt16? = 1000
) -> RecordedSession {
    var records: [Record] = [
        Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 0, subprotocol: subprotocol)))
    ]
    for (ms, direction, bytes) in frames {
        records.append(
            Record(
                session: 1, timeMicros: ms * 1000,
                body: .frame(Frame(direction: direction, opcode: .binary, payload: bytes))))
    }
    if let closedBy {
        records.append(
            Record(
                session: 1, timeMicros: (frames.last?.0 ?? 0) * 1000 + 1000,
                body: .close(SessionClose(closedBy: closedBy, code: code, reason: ""))))
    }
    guard let session = RecordedSession.sessions(from: records).first else {
        Issue.record("RecordedSession.sessions(from:) found no session in \(records.count) records")
        return RecordedSession(number: 0, subprotocol: subprotocol, events: [], ending: nil)
    }
    return session
}

let c2t = Direction.clientToTarget
let t2c = Direction.targetToClient

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// RFB 3.8, security None, 800x600 "desk": the server's handshake up to ServerInit.
let rfbServerGreeting = bytes("RFB 003.008\n")
let rfbSecurityTypes: [UInt8] = [1, 1]
let rfbSecurityResult: [UInt8] = [0, 0, 0, 0]
let rfbServerInit: [UInt8] =
    [0x03, 0x20, 0x02, 0x58, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0, 0, 0, 0, 4] + bytes("desk")
let rfbSetEncodings: [UInt8] = [2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]
func fbur(_ incremental: Bool, _ x: UInt16, _ y: UInt16, _ w: UInt16, _ h: UInt16) -> [UInt8] {
    [
        3, incremental ? 1 : 0, UInt8(x >> 8), UInt8(x & 255), UInt8(y >> 8), UInt8(y & 255), UInt8(w >> 8),
        UInt8(w & 255), UInt8(h >> 8), UInt8(h & 255),
    ]
}
func key(_ down: Bool, _ keysym: UInt32) -> [UInt8] {
    [
        4, down ? 1 : 0, 0, 0, UInt8(keysym >> 24), UInt8((keysym >> 16) & 255), UInt8((keysym >> 8) & 255),
        UInt8(keysym & 255),
    ]
}
func pointer(_ buttons: UInt8, _ x: UInt16, _ y: UInt16) -> [UInt8] {
    [5, buttons, UInt8(x >> 8), UInt8(x & 255), UInt8(y >> 8), UInt8(y & 255)]
}

/// A recorded RFB session: handshake, SetEncodings + FBUR, an update, the key "a", another update.
func rfbSession() -> RecordedSession {
    makeSession(
        [
            (0, t2c, rfbServerGreeting), (5, c2t, rfbServerGreeting), (6, t2c, rfbSecurityTypes), (7, c2t, [1]),
            (8, t2c, rfbSecurityResult), (9, c2t, [1]), (10, t2c, rfbServerInit),
            (11, c2t, rfbSetEncodings + fbur(false, 0, 0, 800, 600)), (20, t2c, [0, 0, 0, 0]),
            (100, c2t, key(true, 0x61) + key(false, 0x61)), (120, t2c, [0, 0, 0, 1]),
        ], closedBy: .client, code: 1000)
}
