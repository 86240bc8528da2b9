import NIOHTTP1
import NIOCore
import Proxy

/// RESP2, the Redis protocol (https://redis.io/docs/reference/protocol-spec/): commands out,
/// replies in. Pure: no sockets.
public enum RESP {
    /// A reply.
    public indirect enum Value: Equatable, Sendable {
        case simpleString(String)
        case error(String)
        case integer(Int64)
        /// nil is the null bulk string (`$-1`), e.g. GET of a missing key.
        case bulkString([UInt8]?)
        /// nil is the null array (`*-1`).
        case array([Value]?)
    }

    /// A reply the decoder cannot accept.
    public struct ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { "bad Redis reply: \(message)" }
    }

    /// Largest bulk string or array accepted from a server (a token's value is tiny).
    public static let maximumLength = 1 << 20
    /// Deepest nesting of arrays accepted: the replies read here are flat, and each level is a
    /// call frame, so a reply of a million `*1\r\n` would otherwise overflow the event loop's stack.
    public static let maximumDepth = 16

    /// A command as an array of bulk strings.
    public static func encode(command arguments: [String], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.utf8.count)\r\n")
            buffer.writeString(argument)
            buffer.writeString("\r\n")
        }
    }

    /// Decodes one reply from the front of `buffer`, consuming it; nil (and nothing consumed)
    /// when more bytes are needed.
    public static func decode(_ buffer: inout ByteBuffer) throws(ProtocolError) -> Value? {
        var view = buffer
        guard let value = try decodeValue(&view, depth: 0) else { return nil }
        buffer = view
        return value
    }

    private static func decodeValue(_ buffer: inout ByteBuffer, depth: Int) throws(ProtocolError) -> Value? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        var view = buffer
        view.moveReaderIndex(forwardBy: 1)
        guard let line = try readLine(&view) else { return nil }
        let value: Value
        switch type {
        case UInt8(ascii: "+"): value = .simpleString(line)
        case UInt8(ascii: "-"): value = .error(line)
        case UInt8(ascii: ":"):
            guard let number = Int64(line) else { throw ProtocolError(message: "integer '\(line)'") }
            value = .integer(number)
        case UInt8(ascii: "$"):
            let length = try length(line)
            if length < 0 {
                value = .bulkString(nil)
            } else {
                guard view.readableBytes >= length + 2 else { return nil }
                let bytes = view.readBytes(length: length)!
                guard view.readBytes(length: 2) == [13, 10] else {
                    throw ProtocolError(message: "bulk string not followed by CRLF")
                }
                value = .bulkString(bytes)
            }
        case UInt8(ascii: "*"):
            let count = try length(line)
            if count < 0 {
                value = .array(nil)
            } else {
                // A null array holds nothing: only arrays with items nest.
                guard depth < maximumDepth else { throw ProtocolError(message: "arrays nested deeper than \(maximumDepth)") }
                var items: [Value] = []
                for _ in 0..<count {
                    guard let item = try decodeValue(&view, depth: depth + 1) else { return nil }
                    items.append(item)
                }
                value = .array(items)
            }
        default:
            throw ProtocolError(message: "unknown type byte 0x\(String(type, radix: 16))")
        }
        buffer = view
        return value
    }

    private static func length(_ line: String) throws(ProtocolError) -> Int {
        guard let n = Int(line), n >= -1, n <= maximumLength else { throw ProtocolError(message: "length '\(line)'") }
        return n
    }

    /// The text up to CRLF (consumed with it); nil when the CRLF has not arrived.
    private static func readLine(_ buffer: inout ByteBuffer) throws(ProtocolError) -> String? {
        let bytes = buffer.readableBytesView
        guard let cr = bytes.firstIndex(of: 13) else {
            if bytes.count > 1024 { throw ProtocolError(message: "line without CRLF") }
            return nil
        }
        guard cr + 1 < bytes.endIndex else { return nil }
        guard bytes[cr + 1] == 10 else { throw ProtocolError(message: "CR without LF") }
        let line = String(decoding: bytes[bytes.startIndex..<cr], as: UTF8.self)
        buffer.moveReaderIndex(forwardBy: cr + 2 - bytes.startIndex)
        return line
    }
}
