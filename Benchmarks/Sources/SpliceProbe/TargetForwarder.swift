import CSpliceProbe
import Glibc
import WebSocketWire

/// Target → client: every read of the target becomes one binary frame (RFC 6455 §5.6), sized by
/// what one read returned, at most the pipe's capacity.
///
/// `.splice`: splice(2) target socket → pipe (the return value is the frame's length), the frame
/// header with send(MSG_MORE), then splice(2) pipe → client socket until the pipe is empty. The
/// payload never enters user space. `.copy`: the same framing with read(2) into a buffer and one
/// send of header and payload, so that the gain of splice itself can be told from "a minimal relay".
struct TargetForwarder {
    var mode: ProbeOptions.Mode
    var pipeSize: Int
    var target: Int32
    var writer: ClientWriter

    /// What went to the client, for the session's log line.
    struct Totals {
        var bytes = 0
        var frames = 0
        var largestFrame = 0
        /// The pipe's capacity as the kernel set it (splice mode).
        var pipeCapacity = 0
    }

    /// Runs until the target's end of stream or an error; then sends the client a close frame.
    func run() -> (Totals, ProbeSocket.Failure?) {
        var totals = Totals()
        var failure: ProbeSocket.Failure?
        do {
            switch mode {
            case .splice: try forwardSpliced(&totals)
            case .copy: try forwardCopied(&totals)
            }
            // The target closed: end the WebSocket connection as websockify does (1000).
            try writer.sendClose(CloseCode.normal)
        } catch let error as ProbeSocket.Failure {
            failure = error
            shutdown(writer.fd, Int32(SHUT_RDWR))  // wakes the reader: the session is over
        } catch {
            failure = ProbeSocket.Failure("\(error)", errno: EIO)
            shutdown(writer.fd, Int32(SHUT_RDWR))
        }
        return (totals, failure)
    }

    private func forwardSpliced(_ totals: inout Totals) throws {
        var fds: [Int32] = [0, 0]
        guard csp_pipe(&fds) == 0 else { throw ProbeSocket.Failure("pipe2") }
        defer {
            close(fds[0])
            close(fds[1])
        }
        let capacity = csp_set_pipe_size(fds[1], Int32(pipeSize))
        guard capacity > 0 else { throw ProbeSocket.Failure("F_SETPIPE_SZ \(pipeSize) (see /proc/sys/fs/pipe-max-size)") }
        totals.pipeCapacity = Int(capacity)
        var header = [UInt8](repeating: 0, count: FrameHeader.maximumSize)
        while true {
            // The pipe is empty here, so one splice moves at most its capacity.
            let n = csp_splice(target, fds[1], Int(capacity), csp_splice_move | csp_splice_more)
            if n == 0 { return }
            if n < 0 {
                if errno == EINTR { continue }
                throw ProbeSocket.Failure("splice target → pipe")
            }
            let open = try writer.whileOpen {
                let size = header.withUnsafeMutableBytes {
                    FrameHeader(opcode: .binary, payloadLength: n).encode(into: $0)
                }
                try header.withUnsafeBytes { try ProbeSocket.writeAll(writer.fd, UnsafeRawBufferPointer(rebasing: $0[..<size]), flags: Int32(MSG_MORE)) }
                var left = n
                while left > 0 {
                    let m = csp_splice(fds[0], writer.fd, left, csp_splice_move)
                    if m < 0 && errno == EINTR { continue }
                    guard m > 0 else { throw ProbeSocket.Failure("splice pipe → client") }
                    left -= m
                }
            }
            guard open else { return }
            totals.add(frame: n)
        }
    }

    private func forwardCopied(_ totals: inout Totals) throws {
        // Room for the longest server header in front of the payload: header and payload leave in
        // one send from one buffer.
        let headroom = 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: headroom + pipeSize, alignment: 64)
        defer { buffer.deallocate() }
        let payloadArea = UnsafeMutableRawBufferPointer(rebasing: buffer[headroom...])
        while true {
            let n = try ProbeSocket.readSome(target, into: payloadArea)
            if n == 0 { return }
            let header = FrameHeader(opcode: .binary, payloadLength: n)
            let start = headroom - header.encodedSize
            _ = header.encode(into: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<headroom]))
            let open = try writer.whileOpen {
                try ProbeSocket.writeAll(writer.fd, UnsafeRawBufferPointer(rebasing: buffer[start..<(headroom + n)]))
            }
            guard open else { return }
            totals.add(frame: n)
        }
    }
}

extension TargetForwarder.Totals {
    mutating func add(frame length: Int) {
        bytes += length
        frames += 1
        largestFrame = max(largestFrame, length)
    }
}
