import CZlib
import RFB
import RFBDecoding

/// Big-endian wire helpers for hand-built RFB bytes.
func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
func u32(_ value: Int) -> [UInt8] { u16(value >> 16) + u16(value & 0xFFFF) }
func s32(_ value: Int32) -> [UInt8] { u32(Int(UInt32(bitPattern: value))) }

/// A rectangle header.
func rect(_ x: Int, _ y: Int, _ width: Int, _ height: Int, _ encoding: RFBEncoding) -> [UInt8] {
    u16(x) + u16(y) + u16(width) + u16(height) + s32(encoding.rawValue)
}

/// A FramebufferUpdate header for `count` rectangles.
func update(_ count: Int) -> [UInt8] { [0, 0] + u16(count) }

/// 32 bits per pixel, depth 24, little-endian, red at bit 16 (x11vnc's ServerInit format).
let x11vncFormat = RFBPixelFormat(
    bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255,
    redShift: 16, greenShift: 8, blueShift: 0)

/// A PIXEL of `colour` (`0xRRGGBB`) in x11vncFormat.
func px(_ colour: UInt32) -> [UInt8] { [UInt8(colour & 0xFF), UInt8(colour >> 8 & 0xFF), UInt8(colour >> 16), 0] }
/// A ZRLE CPIXEL of `colour` in x11vncFormat (the three low bytes, little-endian).
func cpx(_ colour: UInt32) -> [UInt8] { Array(px(colour).prefix(3)) }

/// The chunks of an RFB 3.8 handshake with security None, through ServerInit.
func handshake(width: Int, height: Int, format: RFBPixelFormat = x11vncFormat) -> [(RFBDirection, [UInt8])] {
    [
        (.serverToClient, Array("RFB 003.008\n".utf8)), (.clientToServer, Array("RFB 003.008\n".utf8)),
        (.serverToClient, [1, 1]), (.clientToServer, [1]), (.serverToClient, u32(0)), (.clientToServer, [1]),
        (.serverToClient, u16(width) + u16(height) + format.bytes + u32(4) + Array("test".utf8)),
    ]
}

/// A session through ServerInit (RFB 3.8, security None), fed to a decoder.
struct DecoderSession {
    let decoder = RFBFramebufferDecoder()
    var problems: [RFBDecodeProblem] = []
    /// Server bytes fed so far (offsets of problems are counted in them).
    var serverOffset = 0

    init(width: Int, height: Int, format: RFBPixelFormat = x11vncFormat) {
        for (direction, bytes) in handshake(width: width, height: height, format: format) {
            if direction == .serverToClient { server(bytes) } else { client(bytes) }
        }
    }

    mutating func server(_ bytes: [UInt8], time: Double? = nil) {
        problems += decoder.feed(.serverToClient, bytes, time: time)
        serverOffset += bytes.count
    }

    mutating func client(_ bytes: [UInt8]) { problems += decoder.feed(.clientToServer, bytes) }

    /// The framebuffer; a failed expectation elsewhere if there is none.
    var screen: RFBFramebuffer { decoder.framebuffer ?? RFBFramebuffer(width: 0, height: 0) }

    /// Rows of the screen, for readable expectations.
    var rows: [[UInt32]] {
        let s = screen
        return (0..<s.height).map { y in (0..<s.width).map { x in s[x, y] } }
    }
}

/// One zlib stream compressing pieces that each end at a sync flush (what a ZRLE server sends;
/// `flush` another zlib flush mode).
final class SyncFlushDeflater {
    private var stream = z_stream()
    private let flush: Int32

    init(flush: Int32 = Z_SYNC_FLUSH) {
        self.flush = flush
        let status = deflateInit_(&stream, 6, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit failed")
    }

    deinit { deflateEnd(&stream) }

    func compress(_ input: [UInt8]) -> [UInt8] {
        var input = input
        var output = [UInt8](repeating: 0, count: input.count * 2 + 1024)
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                let status = deflate(&stream, flush)
                precondition(status == Z_OK && stream.avail_in == 0, "deflate failed")
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<produced])
    }
}
