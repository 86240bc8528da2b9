import NIOCore
import NIOWebSocket
import Proxy
import Testing

@Suite("Word-wide unmasking")
struct WebSocketUnmaskTests {
    @Test("matches NIO's byte-wise unmask for every length 0…200 and every offset")
    func matchesByteWise() throws {
        let keys: [[UInt8]] = [[0x37, 0xFA, 0x21, 0x3D], [0, 0, 0, 0], [0xFF, 0x01, 0x80, 0x7F]]
        for key in keys {
            let nioKey = try #require(WebSocketMaskingKey(key))
            for length in 0...200 {
                for offset in 0..<8 {
                    let source = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                    var expected = ByteBuffer(bytes: source)
                    expected.webSocketUnmask(nioKey, indexOffset: offset)
                    var actual = ByteBuffer(bytes: source)
                    actual.unmaskWordWise(key: (key[0], key[1], key[2], key[3]), offset: offset)
                    #expect(bytes(actual) == bytes(expected), "length \(length) offset \(offset) key \(key)")
                }
            }
        }
    }

    @Test("unmasks in place from an unaligned start")
    func unalignedStart() throws {
        let key: [UInt8] = [1, 2, 3, 4]
        let source = (0..<100).map { UInt8($0) }
        for start in 0..<9 {
            var buffer = ByteBuffer(bytes: source)
            buffer.moveReaderIndex(forwardBy: start)
            var expected = buffer
            expected.webSocketUnmask(try #require(WebSocketMaskingKey(key)))
            buffer.unmaskWordWise(key: (1, 2, 3, 4))
            #expect(bytes(buffer) == bytes(expected))
        }
    }

    @Test("unmasking twice gives back the input")
    func involution() {
        let source = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var buffer = ByteBuffer(bytes: source)
        buffer.unmaskWordWise(key: (9, 8, 7, 6), offset: 3)
        #expect(bytes(buffer) != source)
        buffer.unmaskWordWise(key: (9, 8, 7, 6), offset: 3)
        #expect(bytes(buffer) == source)
    }
}
