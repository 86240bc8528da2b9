import CSpliceProbe
import Foundation
import Glibc

/// A measurement tool, not a product feature (issue 18 §2, measured by scripts/bench-splice): the
/// least a WebSocket relay can do per target byte, with the payload moved by splice(2) through a
/// pipe (`--mode splice`) or by read/write (`--mode copy`). RFC 6455 handshake and framing are real
/// (any WebSocket client can use it); TLS, base64, compression and recording are not there.
@main
struct SpliceProbe {
    static func main() {
        let options: ProbeOptions
        do {
            options = try ProbeOptions(arguments: Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
        signal(SIGPIPE, SIG_IGN)  // splice(2) to a closed socket raises it; the error is handled
        if options.mode == .splice, let problem = pipeSizeProblem(options.pipeSize) {
            FileHandle.standardError.write(Data("SpliceProbe: \(problem)\n".utf8))
            exit(1)
        }
        let listener: Int32
        do {
            listener = try ProbeSocket.listen(host: options.listenHost, port: options.listenPort)
        } catch {
            FileHandle.standardError.write(Data("SpliceProbe: \(error)\n".utf8))
            exit(1)
        }
        FileHandle.standardError.write(
            Data("SpliceProbe[\(options.mode.rawValue)] listening on \(options.listenHost):\(options.listenPort), target \(options.targetHost):\(options.targetPort)\n".utf8))
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                FileHandle.standardError.write(Data("SpliceProbe: accept: \(String(cString: strerror(errno)))\n".utf8))
                usleep(100_000)  // out of descriptors: wait rather than spin
                continue
            }
            let session = ProbeSession(options: options, client: client)
            Thread { session.run() }.start()
        }
    }

    /// Whether a pipe of `size` bytes can be had (above /proc/sys/fs/pipe-max-size only with
    /// CAP_SYS_RESOURCE): checked once at start rather than failing every session.
    static func pipeSizeProblem(_ size: Int) -> String? {
        var fds: [Int32] = [0, 0]
        guard csp_pipe(&fds) == 0 else { return "pipe2: \(String(cString: strerror(errno)))" }
        defer {
            close(fds[0])
            close(fds[1])
        }
        guard csp_set_pipe_size(fds[1], Int32(size)) < 0 else { return nil }
        let reason = String(cString: strerror(errno))
        let limit = (try? String(contentsOfFile: "/proc/sys/fs/pipe-max-size", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        return "cannot make a pipe of \(size) bytes (F_SETPIPE_SZ: \(reason); /proc/sys/fs/pipe-max-size is \(limit))"
    }
}
