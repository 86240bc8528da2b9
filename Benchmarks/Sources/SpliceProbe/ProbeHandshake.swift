import Crypto
import Foundation

/// The opening handshake of RFC 6455 §4.2: reads the client's HTTP request, checks it is a
/// WebSocket upgrade, and makes the 101 answer with Sec-WebSocket-Accept (§4.2.2: base64 of the
/// SHA-1 of the key and the GUID).
struct ProbeHandshake {
    /// The 101 response to send.
    var response: [UInt8]
    /// Bytes the client sent after the request head (its first frames).
    var leftover: [UInt8]

    struct Refusal: Error, CustomStringConvertible {
        var description: String
        /// The HTTP answer to send before closing.
        var response: [UInt8] {
            Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        }
    }

    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    /// A request head larger than this is refused (websockify's own limit is larger; the probe's
    /// clients send a few hundred bytes).
    static let maximumHeadSize = 16 * 1024

    /// Reads the request from `fd` (blocking) and checks it.
    init(readingFrom fd: Int32) throws {
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var end: Int?
        while end == nil {
            let n = try chunk.withUnsafeMutableBytes { try ProbeSocket.readSome(fd, into: $0) }
            guard n > 0 else { throw Refusal(description: "connection closed during the handshake") }
            let searchFrom = max(0, head.count - 3)
            head += chunk[..<n]
            end = Self.headEnd(head, from: searchFrom)
            if end == nil && head.count > Self.maximumHeadSize {
                throw Refusal(description: "request head over \(Self.maximumHeadSize) bytes")
            }
        }
        let headEnd = end!
        leftover = Array(head[headEnd...])
        response = try Self.answer(head: String(decoding: head[..<headEnd], as: UTF8.self))
    }

    private static func headEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 3 < bytes.count {
            if bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i + 4 }
            i += 1
        }
        return nil
    }

    /// The 101 answer to a request head, or a refusal saying what is missing.
    static func answer(head: String) throws -> [UInt8] {
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3, requestLine[0] == "GET", requestLine[2] == "HTTP/1.1" else {
            throw Refusal(description: "not a GET HTTP/1.1 request: \(lines[0].prefix(80))")
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw Refusal(description: "bad header line") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            fields[name] = fields[name].map { $0 + ", " + value } ?? value
        }
        func tokens(_ name: String) -> [String] {
            (fields[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        }
        guard tokens("upgrade").contains("websocket"), tokens("connection").contains("upgrade") else {
            throw Refusal(description: "not a WebSocket upgrade")
        }
        guard fields["sec-websocket-version"] == "13" else { throw Refusal(description: "Sec-WebSocket-Version is not 13") }
        guard let key = fields["sec-websocket-key"], Data(base64Encoded: key)?.count == 16 else {
            throw Refusal(description: "Sec-WebSocket-Key is not 16 bytes in base64")
        }
        let digest = Insecure.SHA1.hash(data: Data((key + guid).utf8))
        var answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        answer += "Sec-WebSocket-Accept: \(Data(digest).base64EncodedString())\r\n"
        // noVNC offers "binary"; the probe relays binary frames only, so it picks that or none.
        if tokens("sec-websocket-protocol").contains("binary") { answer += "Sec-WebSocket-Protocol: binary\r\n" }
        return Array((answer + "\r\n").utf8)
    }
}
