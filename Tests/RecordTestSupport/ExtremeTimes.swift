import RecordFormat
import WebSocketWire

/// Record times a valid CRC does not rule out: at the edges of `i64` and `u64` (issue 12 §3).
public let extremeTimes: [UInt64] = [0x7fff_ffff_ffff_ff00, 0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff]

/// Session 1 with two ordinary frames, a third frame and the close at `time`, and a session-0
/// marker at `time`; written by our writer, so every CRC is valid.
public func extremeTimeRecords(_ time: UInt64) -> [Record] {
    let open = SessionOpen(
        startWallMicros: 1_764_000_000_000_000, clientAddress: "127.0.0.1:50000", listenAddress: "127.0.0.1:6080",
        target: .hostPort("127.0.0.1:5900"), requestPath: "/", subprotocol: "binary")
    return [
        Record(session: 1, timeMicros: 0, body: .open(open)),
        Record(session: 1, timeMicros: 1_000, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: Array("RFB 003.008\n".utf8)))),
        Record(session: 1, timeMicros: 2_000, body: .frame(Frame(direction: .clientToTarget, opcode: .binary, payload: Array("hello".utf8)))),
        Record(session: 1, timeMicros: time, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: Array("world".utf8)))),
        Record(session: 0, timeMicros: time, body: .marker("late note")),
        Record(session: 1, timeMicros: time, body: .close(SessionClose(closedBy: .target, code: 1000))),
    ]
}
