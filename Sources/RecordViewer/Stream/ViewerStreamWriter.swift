import RFB
import RFBDecoding

/// The server side of an RFB session the viewer makes up so that noVNC can start in the middle of a
/// recording (RFC 6143): version 3.8, the one security type None, a successful SecurityResult and
/// a ServerInit, then FramebufferUpdates whose rectangles are all Raw (plus DesktopSize for a
/// resize). noVNC's inflaters need a ZRLE or Tight stream from its start, Raw needs nothing before it.
///
/// Pixels are in the format noVNC itself asks every server for (its SetPixelFormat): 32 bits per
/// pixel, depth 24, little-endian, true colour, maxima 255, red at bit 0, green 8, blue 16 — so in
/// memory each pixel is the bytes R, G, B, X. X is unused by the format, and is sent as 255:
/// noVNC 1.3's Raw decoder makes its pixels opaque at the start of its receive queue instead of
/// at the rectangle's data, so a rectangle not at the queue's start is drawn with X as its alpha
/// (0 would leave the canvas unchanged there).
enum ViewerStreamWriter {
    /// noVNC's pixel format (core/rfb.js `RFB.messages.pixelFormat` with depth 24).
    static let noVNCPixelFormat = RFBPixelFormat(
        bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255,
        redShift: 0, greenShift: 8, blueShift: 16)

    /// The server's handshake, one step per element as a real server sends them (each only after
    /// the client's answer to the one before): ProtocolVersion 3.8, the security types [None],
    /// SecurityResult OK, ServerInit. noVNC handles one handshake step per message it receives.
    static func handshake(width: Int, height: Int, name: String) -> [[UInt8]] {
        var serverInit: [UInt8] = []
        serverInit.appendBE16(width)
        serverInit.appendBE16(height)
        serverInit += noVNCPixelFormat.bytes
        let nameBytes = Array(name.utf8.prefix(RFBSessionParser.stringLimit))
        serverInit.appendBE32(nameBytes.count)
        serverInit += nameBytes
        return [Array("RFB 003.008\n".utf8), [1, RFBSecurityType.none.rawValue], [0, 0, 0, 0], serverInit]
    }

    /// A rectangle of pixels to send as Raw: `pixels` are `width * height * 4` RGBX bytes.
    struct RawRectangle: Sendable, Equatable {
        var x: Int
        var y: Int
        var width: Int
        var height: Int
        var pixels: [UInt8]
    }

    /// One FramebufferUpdate: an optional DesktopSize (the new size) first, then Raw rectangles.
    static func update(resize: (width: Int, height: Int)?, _ rectangles: [RawRectangle]) -> [UInt8] {
        var out: [UInt8] = [0, 0]
        out.appendBE16(rectangles.count + (resize == nil ? 0 : 1))
        if let resize {
            out += rectangleHeader(x: 0, y: 0, width: resize.width, height: resize.height, encoding: .desktopSize)
        }
        for rectangle in rectangles {
            out += rectangleHeader(
                x: rectangle.x, y: rectangle.y, width: rectangle.width, height: rectangle.height, encoding: .raw)
            out += rectangle.pixels
        }
        return out
    }

    /// The RGBX bytes (X = 255) of a region of `screen` (which must contain it).
    static func pixels(of screen: RFBFramebuffer, x: Int, y: Int, width: Int, height: Int) -> [UInt8] {
        // One 32-bit store per pixel (0x00RRGGBB in, R G B 255 out in memory order): a full screen
        // is converted for every keyframe and for many repaints.
        [UInt8](unsafeUninitializedCapacity: width * height * 4) { out, count in
            out.withMemoryRebound(to: UInt32.self) { words in
                screen.pixels.withUnsafeBufferPointer { all in
                    guard let source = all.baseAddress, let target = words.baseAddress else { return }
                    var at = 0
                    for row in y..<y + height {
                        let start = row * screen.width + x
                        for i in 0..<width {
                            let pixel = source[start + i]
                            target[at] = UInt32(littleEndian: (pixel >> 16) & 0xFF | (pixel & 0xFF00) | (pixel & 0xFF) << 16 | 0xFF00_0000)
                            at += 1
                        }
                    }
                }
            }
            count = width * height * 4
        }
    }

    private static func rectangleHeader(x: Int, y: Int, width: Int, height: Int, encoding: RFBEncoding) -> [UInt8] {
        var out: [UInt8] = []
        out.appendBE16(x)
        out.appendBE16(y)
        out.appendBE16(width)
        out.appendBE16(height)
        out.appendBE32(Int(UInt32(bitPattern: encoding.rawValue)))
        return out
    }
}

extension [UInt8] {
    mutating func appendBE16(_ value: Int) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    mutating func appendBE32(_ value: Int) {
        for shift in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
