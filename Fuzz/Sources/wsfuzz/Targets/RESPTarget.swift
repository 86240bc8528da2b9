import NIOCore
import ProxyPlugins

/// `RESP.decode` (ProxyPlugins/Tokens): Redis replies as the Redis token plugin reads them.
///
/// Invariants: a reply decodes the same whatever bytes follow it, and not at all (nothing consumed)
/// from any shorter prefix; lengths within `RESP.maximumLength`; a decoded reply, written back in
/// RESP, decodes to itself using exactly those bytes.
enum RESPTarget {
    static let target = FuzzTarget(
        name: "resp",
        summary: "RESP.decode: prefix-monotonic, bounded, replies re-encode to themselves"
    ) { run($0) }

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let seed = input.byte()
        let data = input.rest
        var buffer = ByteBuffer(bytes: data)
        let value: RESP.Value?
        do {
            value = try RESP.decode(&buffer)
        } catch {
            return
        }
        guard let value else {
            FuzzCheck.require(buffer.readableBytes == data.count, "nil after consuming bytes")
            return
        }
        let used = data.count - buffer.readableBytes
        FuzzCheck.require(used > 0, "a reply from no bytes")
        var exact = ByteBuffer(bytes: data[..<used])
        FuzzCheck.require((try? RESP.decode(&exact)) == .some(value), "the reply alone decodes differently")
        let shorter = Int(seed) * used / 256
        var prefix = ByteBuffer(bytes: data[..<shorter])
        FuzzCheck.require((try? RESP.decode(&prefix)) == .some(nil), "a prefix of \(shorter) of \(used) bytes decodes")
        var written = ByteBuffer()
        encode(value, into: &written)
        let length = written.readableBytes
        FuzzCheck.require((try? RESP.decode(&written)) == .some(value), "\(value) written back decodes differently")
        FuzzCheck.require(written.readableBytes == 0, "\(value) written back leaves \(written.readableBytes) of \(length) bytes")
        check(value)
    }

    static func check(_ value: RESP.Value) {
        switch value {
        case .bulkString(let bytes?): FuzzCheck.require(bytes.count <= RESP.maximumLength, "bulk string of \(bytes.count)")
        case .array(let items?):
            FuzzCheck.require(items.count <= RESP.maximumLength, "array of \(items.count)")
            items.forEach(check)
        default: break
        }
    }

    static func encode(_ value: RESP.Value, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text): buffer.writeString("+\(text)\r\n")
        case .error(let text): buffer.writeString("-\(text)\r\n")
        case .integer(let number): buffer.writeString(":\(number)\r\n")
        case .bulkString(nil): buffer.writeString("$-1\r\n")
        case .bulkString(let bytes?):
            buffer.writeString("$\(bytes.count)\r\n")
            buffer.writeBytes(bytes)
            buffer.writeString("\r\n")
        case .array(nil): buffer.writeString("*-1\r\n")
        case .array(let items?):
            buffer.writeString("*\(items.count)\r\n")
            for item in items { encode(item, into: &buffer) }
        }
    }
}
