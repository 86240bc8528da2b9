import NIOCore
import Testing

@testable import Proxy
@testable import ProxyPlugins

@Suite("RESP2 codec")
struct RESPTests {
    @Test("commands are arrays of bulk strings")
    func encode() {
        var buffer = ByteBuffer()
        RESP.encode(command: ["GET", "ns:tök"], into: &buffer)
        #expect(String(buffer: buffer) == "*2\r\n$3\r\nGET\r\n$7\r\nns:tök\r\n")
    }

    static let wire =
        "+OK\r\n-ERR invalid password\r\n:42\r\n$5\r\nh:1\r\n\r\n$-1\r\n$0\r\n\r\n*2\r\n$1\r\na\r\n*1\r\n:-7\r\n*-1\r\n"
    static let values: [RESP.Value] = [
        .simpleString("OK"), .error("ERR invalid password"), .integer(42), .bulkString(Array("h:1\r\n".utf8)),
        .bulkString(nil), .bulkString([]), .array([.bulkString(Array("a".utf8)), .array([.integer(-7)])]), .array(nil),
    ]

    @Test("replies decode in one batch")
    func batch() throws {
        var buffer = ByteBuffer(string: Self.wire)
        var out: [RESP.Value] = []
        while let value = try RESP.decode(&buffer) { out.append(value) }
        #expect(out == Self.values)
        #expect(buffer.readableBytes == 0)
    }

    @Test("replies decode when the bytes arrive split at every position, and one byte at a time")
    func split() throws {
        let bytes = Array(Self.wire.utf8)
        for cut in 0...bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            var out: [RESP.Value] = []
            while let value = try RESP.decode(&buffer) { out.append(value) }
            buffer.writeBytes(bytes[cut...])
            while let value = try RESP.decode(&buffer) { out.append(value) }
            #expect(out == Self.values, "cut at \(cut)")
        }
        var buffer = ByteBuffer()
        var out: [RESP.Value] = []
        for byte in bytes {
            buffer.writeInteger(byte)
            while let value = try RESP.decode(&buffer) { out.append(value) }
        }
        #expect(out == Self.values)
    }

    @Test(
        "malformed replies are errors, not crashes",
        arguments: ["?x\r\n", ":12a\r\n", "$-2\r\n", "$3\r\nabcde", "$99999999999\r\n", "+OK\rX", "*-5\r\n"])
    func malformed(text: String) {
        var buffer = ByteBuffer(string: text)
        #expect(throws: RESP.ProtocolError.self) { _ = try RESP.decode(&buffer) }
    }

    @Test("an endless line without CRLF is refused")
    func longLine() {
        var buffer = ByteBuffer(string: "+" + String(repeating: "x", count: 2000))
        #expect(throws: RESP.ProtocolError.self) { _ = try RESP.decode(&buffer) }
    }

    /// `levels` arrays, each holding the next, around one integer.
    static func nested(_ levels: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        for _ in 0..<levels { buffer.writeString("*1\r\n") }
        buffer.writeString(":1\r\n")
        return buffer
    }

    @Test("arrays nest up to maximumDepth levels; deeper replies are refused before they can exhaust the stack")
    func depth() throws {
        var within = Self.nested(RESP.maximumDepth)
        var value = try #require(try RESP.decode(&within))
        for _ in 0..<RESP.maximumDepth {
            guard case .array(let items?) = value, items.count == 1 else { Issue.record("not one array: \(value)"); return }
            value = items[0]
        }
        #expect(value == .integer(1))
        var nullInside = Self.nested(RESP.maximumDepth)
        nullInside.moveWriterIndex(to: nullInside.writerIndex - 4)
        nullInside.writeString("*-1\r\n")
        #expect(throws: Never.self) { _ = try RESP.decode(&nullInside) }
        var deeper = Self.nested(RESP.maximumDepth + 1)
        #expect(throws: RESP.ProtocolError(message: "arrays nested deeper than \(RESP.maximumDepth)")) {
            _ = try RESP.decode(&deeper)
        }
        // Found while writing the resp fuzz target (wsfuzz resp on this input: a stack overflow).
        var million = Self.nested(1_000_000)
        #expect(throws: RESP.ProtocolError.self) { _ = try RESP.decode(&million) }
    }
}
