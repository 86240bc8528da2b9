import Foundation
import RecordFormat
import WebSocketWire

/// A recorded RFB session made here: a 64×48 screen in x11vnc's 32-bit format, then every half
/// second a FramebufferUpdate painting the whole screen (Raw) in the colour of that moment.
public struct SyntheticSession {
    public static let width = 64
    public static let height = 48
    public static let start: Int64 = 1_796_000_000_000_000

    /// The colour the update at `step` (time `step` × 0.5 s) paints; `salt` makes another recording.
    public static func colour(_ step: Int, salt: UInt32 = 0) -> UInt32 {
        (UInt32(step) &* 0x0001_0937 &+ salt &* 0x0043_2101) & 0x00FF_FFFF
    }

    /// The µs time of update `step`.
    public static func time(_ step: Int) -> UInt64 { UInt64(step) * 500_000 }

    /// How the session authenticates: no authentication, or VNC authentication (a 16-byte
    /// challenge and response), its response recorded as sent or redacted (`--record-redact=auth`:
    /// the same number of filler bytes, flagged).
    public enum Authentication: Sendable {
        case none, password, redactedPassword
    }

    /// Writes the session (updates 1…`steps`, then the close record) to `path`; with
    /// `outOfRangeAfter`, a record whose time is out of range (2^63 µs) follows that update.
    public static func write(
        to path: String, steps: Int = 40, salt: UInt32 = 0, authentication: Authentication = .none,
        outOfRangeAfter: Int? = nil
    ) throws {
        let writer = try RecordFileWriter(path: path, configuration: .init(), clock: ManualClock())
        func frame(_ time: UInt64, _ direction: Direction, _ payload: [UInt8], redacted: Bool = false) throws {
            let frame = Frame(direction: direction, opcode: .binary, payload: payload, isRedacted: redacted)
            try writer.append(Record(session: 1, timeMicros: time, body: .frame(frame)))
        }
        try writer.append(
            Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: start, subprotocol: "binary"))))
        try frame(1000, .targetToClient, Array("RFB 003.008\n".utf8))
        try frame(2000, .clientToTarget, Array("RFB 003.008\n".utf8))
        switch authentication {
        case .none:
            try frame(3000, .targetToClient, [1, 1])
            try frame(4000, .clientToTarget, [1])
        case .password, .redactedPassword:
            try frame(3000, .targetToClient, [1, 2])
            try frame(3500, .clientToTarget, [2])
            try frame(3700, .targetToClient, Array(0..<16))
            let response: [UInt8] = authentication == .password ? Array(100..<116) : Array(repeating: 0, count: 16)
            try frame(4000, .clientToTarget, response, redacted: authentication == .redactedPassword)
        }
        try frame(5000, .targetToClient, [0, 0, 0, 0])
        try frame(6000, .clientToTarget, [1])
        var serverInit = be16(width) + be16(height)
        serverInit += [32, 24, 0, 1] + be16(255) + be16(255) + be16(255) + [16, 8, 0, 0, 0, 0]
        serverInit += be32(1) + Array("t".utf8)
        try frame(7000, .targetToClient, serverInit)
        if authentication != .none {
            // As noVNC: its pixel format (the same) and encodings, ExtendedClipboard among them; then
            // the server's clipboard capabilities (a ServerCutText of length −8), which can only be
            // read knowing that the client announced it.
            try frame(7200, .clientToTarget, [0, 0, 0, 0, 32, 24, 0, 1] + be16(255) + be16(255) + be16(255) + [16, 8, 0, 0, 0, 0])
            try frame(7300, .clientToTarget, [2, 0] + be16(2) + be32(0) + be32(Int(UInt32(bitPattern: -1_063_131_698))))
            try frame(7600, .targetToClient, [3, 0, 0, 0] + be32(Int(UInt32(bitPattern: -8))) + be32(0x0100_0001) + be32(1024))
        }
        for step in 1...steps {
            try frame(time(step), .targetToClient, update(colour(step, salt: salt)))
            if step == outOfRangeAfter { try frame(1 << 63, .clientToTarget, [3, 1] + be16(0) + be16(0) + be16(width) + be16(height)) }
        }
        try writer.append(Record(session: 1, timeMicros: time(steps) + 200_000, body: .close(SessionClose(closedBy: .client))))
        try writer.close()
    }

    /// A FramebufferUpdate of one Raw rectangle: the whole screen in `colour` (0x00RRGGBB, sent
    /// little-endian as x11vnc's format has it).
    public static func update(_ colour: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0, 0] + be16(1) + be16(0) + be16(0) + be16(width) + be16(height) + be32(0)
        let pixel = [UInt8(colour & 0xFF), UInt8(colour >> 8 & 0xFF), UInt8(colour >> 16 & 0xFF), 0]
        for _ in 0..<width * height { bytes += pixel }
        return bytes
    }

    private static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    private static func be32(_ v: Int) -> [UInt8] { be16(v >> 16) + be16(v & 0xFFFF) }
}
