/// SpliceProbe's command line: `SpliceProbe [--mode splice|copy] [--pipe-size BYTES] LISTEN TARGET`,
/// LISTEN and TARGET as `host:port` (LISTEN may be a bare port, on 127.0.0.1), as websockify takes them.
struct ProbeOptions: Sendable {
    /// How target bytes reach the client.
    enum Mode: String, Sendable {
        /// splice(2) from the target socket into a pipe, and from the pipe into the client socket.
        case splice
        /// read(2) into a buffer of the pipe's size, then one writev(2) of header and payload.
        case copy
    }

    var mode = Mode.splice
    /// The pipe's capacity (F_SETPIPE_SZ) and the copy mode's buffer: the largest frame sent.
    /// 1 MiB, the buffer `socat -b 1048576` is given in the benchmark.
    var pipeSize = 1 << 20
    var listenHost = "127.0.0.1"
    var listenPort: UInt16 = 0
    var targetHost = ""
    var targetPort: UInt16 = 0

    static let usage = "usage: SpliceProbe [--mode splice|copy] [--pipe-size BYTES] [HOST:]LISTEN_PORT TARGET_HOST:PORT"

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    init(arguments: [String]) throws {
        var positional: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--mode":
                guard let value = rest.popFirst(), let mode = Mode(rawValue: value) else {
                    throw UsageError(description: "--mode needs splice or copy")
                }
                self.mode = mode
            case "--pipe-size":
                guard let value = rest.popFirst(), let size = Int(value), size >= 4096, size <= 1 << 30 else {
                    throw UsageError(description: "--pipe-size needs a byte count from 4096 to 2^30")
                }
                pipeSize = size
            case "-h", "--help":
                throw UsageError(description: Self.usage)
            default:
                guard !argument.hasPrefix("-") else { throw UsageError(description: "unknown option \(argument)") }
                positional.append(argument)
            }
        }
        guard positional.count == 2 else { throw UsageError(description: Self.usage) }
        if let port = UInt16(positional[0]) {
            listenPort = port
        } else {
            (listenHost, listenPort) = try Self.hostPort(positional[0])
        }
        (targetHost, targetPort) = try Self.hostPort(positional[1])
    }

    private static func hostPort(_ text: String) throws -> (String, UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
            colon != text.startIndex
        else { throw UsageError(description: "not host:port: \(text)") }
        return (String(text[..<colon]), port)
    }
}
