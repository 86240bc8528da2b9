import NIOConcurrencyHelpers
import NIOCore
import RecordFormat
import ServiceSupport
import WebSocketWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--traffic`: prints a marker per frame like websockify (`}` client frame received, `>` sent to
/// the target, `{` target data received, `<` sent to the client); verbose mode prints one line per
/// frame with its session, opcode, FIN bit and length instead.
public final class TrafficTap: SessionTap {
    /// Where markers go; shared by all sessions so lines from different loops don't interleave.
    public final class Output: Sendable {
        private let lock = NIOLock()
        private let write: @Sendable (String) -> Void

        public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

        /// Unbuffered standard output.
        public static let standardOutput = Output { text in
            FileLogHandler.Sink.standardOutput.writeRaw(text)
        }

        func emit(_ text: String) { lock.withLock { write(text) } }
    }

    /// The legend printed once at start, like websockify's.
    public static let legend = """
        Traffic Legend:
            }  - Client receive
            }. - Client receive partial
            {  - Target receive

            >  - Target send
            <  - Client send

        """

    private let sessionID: UInt64
    private let verbose: Bool
    private let output: Output

    public init(sessionID: UInt64, verbose: Bool, output: Output = .standardOutput) {
        self.sessionID = sessionID
        self.verbose = verbose
        self.output = output
    }

    public func opened(_ open: SessionOpen) {
        if verbose {
            output.emit("[\(sessionID)] open \(open.clientAddress) -> \(open.target.displayString)\n")
        }
    }

    public func frame(_ direction: Direction, opcode: Opcode, isFinal: Bool, payload: ByteBuffer) {
        if verbose {
            let arrow = direction == .clientToTarget ? "client->target" : "target->client"
            output.emit("[\(sessionID)] \(arrow) \(opcode) fin=\(isFinal ? 1 : 0) \(payload.readableBytes) bytes\n")
            return
        }
        switch direction {
        case .clientToTarget:
            if opcode.isControl {
                output.emit("}")
            } else {
                output.emit(isFinal ? "}>" : "}.")
            }
        case .targetToClient:
            output.emit(opcode.isControl ? "<" : "{<")
        }
    }

    public func closed(_ close: SessionClose) {
        if verbose {
            output.emit(
                "[\(sessionID)] closed by \(close.closedBy.name) code \(close.code.map(String.init) ?? "none")\n")
        }
    }
}
