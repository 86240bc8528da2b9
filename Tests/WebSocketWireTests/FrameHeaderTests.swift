import Testing
import WebSocketWire

@Suite("Frame headers on the wire")
struct FrameHeaderTests {
    func parse(_ bytes: [UInt8]) -> FrameHeader.ParseResult {
        bytes.withUnsafeBytes { FrameHeader.parse($0) }
    }

    @Test("the examples of RFC 6455 §5.7 encode byte for byte")
    func rfcExamples() {
        // A single-frame unmasked text message "Hello".
        #expect(FrameHeader(opcode: .text, payloadLength: 5).bytes == [0x81, 0x05])
        // A single-frame masked text message "Hello".
        #expect(
            FrameHeader(opcode: .text, maskKey: (0x37, 0xFA, 0x21, 0x3D), payloadLength: 5).bytes
                == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D])
        // The first fragment of an unmasked text message, and an unmasked ping.
        #expect(FrameHeader(fin: false, opcode: .text, payloadLength: 3).bytes == [0x01, 0x03])
        #expect(FrameHeader(opcode: .ping, payloadLength: 5).bytes == [0x89, 0x05])
        // 256 bytes and 64 KiB binary messages in a single unmasked frame.
        #expect(FrameHeader(opcode: .binary, payloadLength: 256).bytes == [0x82, 0x7E, 0x01, 0x00])
        #expect(
            FrameHeader(opcode: .binary, payloadLength: 65536).bytes
                == [0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00])
    }

    @Test("lengths use the shortest form at each boundary and parse back", arguments: [
        0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 1 << 32, Int.max,
    ])
    func roundTrip(length: Int) throws {
        for key: MaskKey? in [nil, (1, 2, 3, 4)] {
            for opcode in [Opcode.continuation, .text, .binary, .close, Opcode(rawValue: 0xB)] {
                let header = FrameHeader(fin: length % 2 == 0, rsv: 5, opcode: opcode, maskKey: key, payloadLength: length)
                let bytes = header.bytes
                let expectedSize = 2 + (length < 126 ? 0 : length <= 0xFFFF ? 2 : 8) + (key == nil ? 0 : 4)
                #expect(bytes.count == expectedSize)
                #expect(header.encodedSize == expectedSize)
                #expect(parse(bytes) == .header(header, size: expectedSize))
                // Any trailing payload bytes are left alone.
                #expect(parse(bytes + [0xAA, 0xBB]) == .header(header, size: expectedSize))
                // Every cut before the end is incomplete, never a wrong header.
                for cut in 0..<bytes.count {
                    #expect(parse(Array(bytes.prefix(cut))) == .incomplete, "cut at \(cut) of \(bytes.count)")
                }
            }
        }
    }

    @Test("a 64-bit length with its top bit set is refused after the length")
    func topBit() {
        let bytes: [UInt8] = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]
        #expect(parse(bytes) == .invalidLength(size: 10))
        #expect(parse(Array(bytes.prefix(9))) == .incomplete)
    }

    @Test("a length that does not fit Int is clamped, never trapped on")
    func hugeLength() {
        // 2^63 - 1 is the largest valid one; parsing it must not overflow when Int is 64 bits.
        let bytes: [UInt8] = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(parse(bytes) == .header(FrameHeader(opcode: .binary, payloadLength: Int.max), size: 10))
    }

    @Test("fields come from their bits: FIN, RSV1–3, opcode, MASK")
    func bits() {
        #expect(parse([0x70, 0x00]) == .header(FrameHeader(fin: false, rsv: 7, opcode: .continuation, payloadLength: 0), size: 2))
        #expect(parse([0x8F, 0x00]) == .header(FrameHeader(opcode: Opcode(rawValue: 0xF), payloadLength: 0), size: 2))
        #expect(parse([0xC2, 0x00]) == .header(FrameHeader(rsv: 4, opcode: .binary, payloadLength: 0), size: 2))
    }

    @Test("close payloads: code in network order, reason cut at 123 bytes on a character boundary")
    func closePayload() {
        #expect(CloseCode.payload(code: nil, reason: "ignored") == [])
        #expect(CloseCode.payload(code: 1001, reason: "bye") == [0x03, 0xE9] + Array("bye".utf8))
        let long = String(repeating: "é", count: 100)  // 200 bytes of 2-byte characters
        let payload = CloseCode.payload(code: 1000, reason: long)
        #expect(payload.count == 2 + 122)
        #expect(String(validating: payload.dropFirst(2), as: UTF8.self) == String(repeating: "é", count: 61))
    }
}
