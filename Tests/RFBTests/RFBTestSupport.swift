import RFB

/// Big-endian wire helpers for hand-written RFB bytes.
func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
func u32(_ value: UInt32) -> [UInt8] { u16(UInt16(value >> 16)) + u16(UInt16(value & 0xFFFF)) }
func s32(_ value: Int32) -> [UInt8] { u32(UInt32(bitPattern: value)) }
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

/// 32 bits per pixel, depth 24, little-endian, red at bit 16 (x11vnc's ServerInit format).
let pixelFormat32: [UInt8] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]
/// 16 bits per pixel, depth 16, RGB565.
let pixelFormat16: [UInt8] = [16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0]

/// A rectangle header.
func rect(_ x: UInt16, _ y: UInt16, _ width: UInt16, _ height: UInt16, _ encoding: Int32) -> [UInt8] {
    u16(x) + u16(y) + u16(width) + u16(height) + s32(encoding)
}

/// A FramebufferUpdate header for `count` rectangles.
func update(_ count: UInt16) -> [UInt8] { [0, 0] + u16(count) }

/// The bytes of a session, in recorded order, as (direction, bytes) events.
struct RFBScript {
    var events: [(direction: RFBDirection, bytes: [UInt8])] = []

    mutating func client(_ bytes: [UInt8]) { events.append((.clientToServer, bytes)) }
    mutating func server(_ bytes: [UInt8]) { events.append((.serverToClient, bytes)) }

    /// RFB 3.8, security None, ServerInit 800x600 "test" with `format`, and a SetEncodings of
    /// `encodings` (so that extended forms are announced).
    static func connected(format: [UInt8] = pixelFormat32, encodings: [Int32] = []) -> RFBScript {
        var script = RFBScript()
        script.server(ascii("RFB 003.008\n"))
        script.client(ascii("RFB 003.008\n"))
        script.server([1, 1])
        script.client([1])
        script.server(u32(0))
        script.client([1])
        script.server(u16(800) + u16(600) + format + u32(4) + ascii("test"))
        if !encodings.isEmpty { script.client([2, 0] + u16(UInt16(encodings.count)) + encodings.flatMap(s32)) }
        return script
    }

    /// RFB 3.8 with VNC authentication (the server offers None and VNCAuth), ServerInit 64x32 "test".
    static func vncAuthenticated() -> RFBScript {
        var script = RFBScript()
        script.server(ascii("RFB 003.008\n"))
        script.client(ascii("RFB 003.008\n"))
        script.server([2, 1, 2])
        script.client([2])
        script.server([UInt8](repeating: 0xC3, count: 16))
        script.client([UInt8](repeating: 0x5A, count: 16))
        script.server(u32(0))
        script.client([1])
        script.server(u16(64) + u16(32) + pixelFormat32 + u32(4) + ascii("test"))
        return script
    }

    /// Events from feeding every event whole, then ``RFBSessionParser/finish()``.
    func parse() -> [RFBParseEvent] { parse { [$0] } }

    /// Events from feeding each event's bytes in the pieces `split` cuts them into.
    func parse(_ split: ([UInt8]) -> [[UInt8]]) -> [RFBParseEvent] {
        var parser = RFBSessionParser()
        var out: [RFBParseEvent] = []
        for event in events {
            for piece in split(event.bytes) { out += parser.feed(event.direction, piece) }
        }
        return out + parser.finish()
    }

    /// Events when chunk `index` is fed in two pieces cut at `cut`, the others whole.
    func parse(cutting index: Int, at cut: Int) -> [RFBParseEvent] {
        var parser = RFBSessionParser()
        var out: [RFBParseEvent] = []
        for (i, event) in events.enumerated() {
            let pieces = i == index ? [Array(event.bytes[..<cut]), Array(event.bytes[cut...])] : [event.bytes]
            for piece in pieces { out += parser.feed(event.direction, piece) }
        }
        return out + parser.finish()
    }

    /// The parsed messages after the handshake prefix of ``connected(format:encodings:)``.
    func messages(after count: Int) -> [RFBParsedMessage] {
        Array(parse().compactMap(\.parsedMessage).dropFirst(count))
    }

    /// Total bytes each direction sent.
    var totals: [RFBDirection: UInt64] {
        var totals: [RFBDirection: UInt64] = [.clientToServer: 0, .serverToClient: 0]
        for event in events { totals[event.direction, default: 0] += UInt64(event.bytes.count) }
        return totals
    }
}

/// Messages in the handshake of ``RFBScript/connected(format:encodings:)``, without SetEncodings.
let handshakeMessages = 7
