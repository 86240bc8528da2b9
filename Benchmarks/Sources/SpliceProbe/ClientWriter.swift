import Foundation
import Glibc
import WebSocketWire

/// Everything written to the client socket goes through here: the target→client forwarder's data
/// frames and the reader's control frames (pong, close) must not interleave inside a frame, and no
/// data frame may follow a close frame (RFC 6455 §5.5.1).
final class ClientWriter: @unchecked Sendable {
    let fd: Int32
    private let lock = NSLock()
    private var closeSent = false  // guarded by lock

    init(fd: Int32) {
        self.fd = fd
    }

    /// Runs `body` holding the write lock; false (and `body` not run) once a close frame went out.
    func whileOpen(_ body: () throws -> Void) rethrows -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !closeSent else { return false }
        try body()
        return true
    }

    /// Sends a control frame (at most 125 bytes of payload, §5.5) unless a close frame went out.
    func sendControl(_ opcode: Opcode, payload: [UInt8] = []) throws {
        precondition(payload.count <= 125, "control frame payload over 125 bytes")
        let frame = FrameHeader(opcode: opcode, payloadLength: payload.count).bytes + payload
        _ = try whileOpen {
            try frame.withUnsafeBytes { try ProbeSocket.writeAll(fd, $0) }
            if opcode == .close { closeSent = true }
        }
    }

    /// Sends a close frame with `code` (§5.5.1, §7.4) unless one went out already.
    func sendClose(_ code: UInt16) throws {
        try sendControl(.close, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
    }
}
