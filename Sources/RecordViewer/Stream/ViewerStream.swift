/// What the page feeds noVNC's fake socket: pieces of server bytes, each to be delivered when the
/// player's clock reaches its session time.
///
/// On the wire (`GET /api/sessions/N/stream`, `application/octet-stream`) each piece is a 64-bit
/// little-endian session time in microseconds, a 32-bit little-endian length and that many bytes.
/// The response's headers say how to go on: `X-Viewer-Mode` (`original` or `keyframe`) and
/// `X-Viewer-Next` (the chunk index to ask for next with `from=`, or `end` when the session is closed
/// and everything was sent).
struct ViewerStream: Sendable, Equatable {
    enum Mode: String, Sendable {
        /// The recorded server bytes after a made-up handshake: noVNC decodes the session's own
        /// encodings. Only from the session's start, and only when noVNC can decode all of them.
        case original
        /// A made-up handshake, the keyframe before the wanted time as one Raw update, then each
        /// later chunk's repaint as Raw rectangles.
        case keyframe
    }

    struct Piece: Sendable, Equatable {
        var timeMicros: UInt64
        var bytes: [UInt8]
    }

    var mode: Mode
    var pieces: [Piece] = []
    /// The chunk index to continue from; nil when the session is over and all was sent.
    var next: Int?

    /// Bytes of the pieces' payloads.
    var byteCount: Int { pieces.reduce(0) { $0 + $1.bytes.count } }

    /// The binary body.
    var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(byteCount + pieces.count * 12)
        for piece in pieces {
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: piece.timeMicros >> UInt64(shift))) }
            let length = UInt32(piece.bytes.count)
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
            out += piece.bytes
        }
        return out
    }

    /// Reads a body back (tests).
    static func decodePieces(_ body: [UInt8]) -> [Piece]? {
        var pieces: [Piece] = []
        var at = 0
        while at < body.count {
            guard at + 12 <= body.count else { return nil }
            var time: UInt64 = 0
            for i in 0..<8 { time |= UInt64(body[at + i]) << UInt64(8 * i) }
            var length = 0
            for i in 0..<4 { length |= Int(body[at + 8 + i]) << (8 * i) }
            at += 12
            guard at + length <= body.count else { return nil }
            pieces.append(Piece(timeMicros: time, bytes: Array(body[at..<at + length])))
            at += length
        }
        return pieces
    }
}
