import NIOCore
import Proxy
import RecordFormat
import Testing
import WebSocketWire

@Suite("Server frame encoding")
struct ServerFrameEncoderTests {
    @Test(
        "header length forms",
        arguments: [
            (0, [0x82, 0]), (125, [0x82, 125]), (126, [0x82, 126, 0, 126]),
            (65535, [0x82, 126, 0xFF, 0xFF]), (65536, [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] as [(Int, [UInt8])])
    func lengths(length: Int, expected: [UInt8]) {
        #expect(bytes(ServerFrameEncoder.header(opcode: .binary, length: length, allocator: .init())) == expected)
    }

    @Test("close payload carries the code and a reason cut to 123 bytes on a character boundary")
    func closePayload() {
        let plain = ServerFrameEncoder.closePayload(code: 1011, reason: "target unreachable", allocator: .init())
        #expect(bytes(plain) == [0x03, 0xF3] + Array("target unreachable".utf8))
        let long = ServerFrameEncoder.closePayload(
            code: 1000, reason: String(repeating: "é", count: 100), allocator: .init())
        #expect(long.readableBytes <= 125)
        var reason = long
        reason.moveReaderIndex(forwardBy: 2)
        #expect(String(validating: reason.readableBytesView, as: UTF8.self) != nil)
        #expect(ServerFrameEncoder.closePayload(code: nil, reason: "x", allocator: .init()).readableBytes == 0)
    }
}
