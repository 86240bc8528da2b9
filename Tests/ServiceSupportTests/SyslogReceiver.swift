import Foundation
import Glibc
import Testing

@testable import ServiceSupport

/// A syslog receiver on loopback: UDP, a unix datagram socket, or a TCP server reading
/// octet-counted frames from the first connection.
final class SyslogReceiver {
    private let fd: Int32
    private let stream: Bool
    private var connection: Int32 = -1
    private var pending: [UInt8] = []

    init(udpPort port: Int) throws {
        fd = try Self.bound(type: SOCK_DGRAM, port: port)
        stream = false
    }

    init(tcpPort port: Int) throws {
        fd = try Self.bound(type: SOCK_STREAM, port: port)
        stream = true
        try #require(listen(fd, 8) == 0)
    }

    init(unixPath path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        stream = false
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        unlink(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(result == 0)
        self.path = path
    }

    private var path: String?

    deinit {
        if connection >= 0 { close(connection) }
        close(fd)
        if let path { unlink(path) }
    }

    /// A port that nothing listens on (bound once, then closed).
    static func freePort(type: __socket_type) throws -> Int {
        let fd = try bound(type: type, port: 0)
        defer { close(fd) }
        // sockaddr_in: family (2 bytes), then the port in network byte order.
        var address = [UInt8](repeating: 0, count: 128)
        var length = socklen_t(address.count)
        let result = address.withUnsafeMutableBytes {
            getsockname(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        try #require(result == 0)
        return Int(address[2]) << 8 | Int(address[3])
    }

    private static func bound(type: __socket_type, port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let (_, address) = try SyslogConnection.resolve(host: "127.0.0.1", port: port, type: type)
        let result = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        try #require(result == 0, "bind 127.0.0.1:\(port): errno \(errno)")
        return fd
    }

    struct Message {
        var raw: [UInt8]
        /// The MSG part of an RFC 5424 message (after `- - `).
        var text: String {
            let string = String(decoding: raw, as: UTF8.self)
            return string.range(of: " - - ").map { String(string[$0.upperBound...]) } ?? string
        }
    }

    /// Waits (up to 10 s) until the texts of the messages read include every one of `texts`;
    /// returns all texts read, duplicates included, in the order they came.
    func texts(including texts: [String]) throws -> [String] {
        var out: [String] = []
        var missing = Set(texts)
        let deadline = Date(timeIntervalSinceNow: 10)
        while !missing.isEmpty {
            try #require(Date() < deadline, "\(missing.count) syslog messages did not arrive; got \(out)")
            if let datagram = try readDatagram() {
                let text = Message(raw: datagram).text
                out.append(text)
                missing.remove(text)
            }
        }
        return out
    }

    /// Waits (up to 10 s) for `count` messages.
    func messages(count: Int) throws -> [Message] {
        var out: [Message] = []
        let deadline = Date(timeIntervalSinceNow: 10)
        while out.count < count {
            try #require(Date() < deadline, "only \(out.count) of \(count) syslog messages arrived: \(out.map(\.text))")
            if stream {
                while let frame = takeFrame() { out.append(Message(raw: frame)) }
                if out.count < count { try readStream() }
            } else if let datagram = try readDatagram() {
                out.append(Message(raw: datagram))
            }
        }
        return out
    }

    /// TCP: reads until `separator` was seen `atLeast` times.
    func streamBytes(atLeast: Int, separator: UInt8) throws -> [UInt8] {
        let deadline = Date(timeIntervalSinceNow: 10)
        while pending.filter({ $0 == separator }).count < atLeast {
            try #require(Date() < deadline, "timed out reading the TCP stream")
            try readStream()
        }
        return pending
    }

    private func wait(_ descriptor: Int32) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 100) == 1
    }

    private func readDatagram() throws -> [UInt8]? {
        guard wait(fd) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        try #require(n >= 0)
        return Array(buffer[0..<n])
    }

    private func readStream() throws {
        if connection < 0 {
            guard wait(fd) else { return }
            connection = accept(fd, nil, nil)
            try #require(connection >= 0)
        }
        guard wait(connection) else { return }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        try #require(n > 0, "the syslog sender closed the connection")
        pending += buffer[0..<n]
    }

    /// One RFC 6587 octet-counted frame (`LEN SP MSG`) from what was read, if complete.
    private func takeFrame() -> [UInt8]? {
        guard let space = pending.firstIndex(of: 0x20),
            let length = Int(String(decoding: pending[..<space], as: UTF8.self)),
            pending.count >= space + 1 + length
        else { return nil }
        let frame = Array(pending[(space + 1)..<(space + 1 + length)])
        pending.removeFirst(space + 1 + length)
        return frame
    }
}
