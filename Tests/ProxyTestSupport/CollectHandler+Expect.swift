import NIOConcurrencyHelpers
import NIOCore

/// Checking what a test client receives as it arrives, so that a lost or changed byte fails the
/// test at once with the offending bytes, instead of as a wait that never ends.
extension CollectHandler {
    /// What the client received differs from what the test expects.
    public struct StreamError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Waits for `expected` right after what earlier calls consumed, comparing as bytes arrive.
    ///
    /// A byte that differs fails at once, naming its offset; so does the connection closing
    /// before `expected` is complete. Only a stream that stops making progress for `stall`
    /// seconds is waited out: generous, because the server under test shares the cooperative
    /// pool with other suites' long synchronous tests on a loaded machine (see ``waitFor``).
    public func expectNext(_ expected: [UInt8], _ what: String, stall: Double = 120) async throws {
        try await poll(stall: stall) { got, closed in
            if let at = got.indices.first(where: { $0 < expected.count && got[$0] != expected[$0] }) {
                throw StreamError(
                    description: "\(what): byte \(at) is \(Self.hex([got[at]])) where \(Self.hex([expected[at]]))"
                        + " was expected; received \(Self.hex(got)),"
                        + " expected \(Self.hex(expected))")
            }
            if got.count >= expected.count { return expected.count }
            if closed {
                throw StreamError(
                    description: "\(what): the connection closed after \(got.count) of the \(expected.count) bytes"
                        + " expected: \(Self.hex(got))")
            }
            return nil
        } stalled: { got in
            "\(what): \(got.count) of the \(expected.count) bytes expected arrived, then nothing for \(stall) s: \(Self.hex(got))"
        }
    }

    /// Waits for an HTTP response head (through its blank line), consumes it and returns it.
    public func takeResponseHead(stall: Double = 120) async throws -> String {
        var head = ""
        try await poll(stall: stall) { got, closed in
            if let end = got.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                head = String(decoding: got[..<end], as: UTF8.self)
                return end
            }
            if closed {
                throw StreamError(description: "the connection closed before a response head: \(String(decoding: got, as: UTF8.self))")
            }
            return nil
        } stalled: { got in
            "no complete response head after \(stall) s of quiet: \(String(decoding: got, as: UTF8.self))"
        }
        return head
    }

    /// Every 10 ms, calls `check` with the bytes not consumed yet and whether the connection
    /// closed, until it returns how many of them to consume; throws if nothing new arrives for
    /// `stall` seconds.
    private func poll(
        stall: Double, _ check: ([UInt8], Bool) throws -> Int?, stalled: ([UInt8]) -> String
    ) async throws {
        var progress = (count: -1, at: NIODeadline.now())
        while true {
            let start = consumed.withLockedValue { $0 }
            let wasClosed = closed.withLockedValue { $0 }
            let got = received.withLockedValue { Array($0[start...]) }
            if let used = try check(got, wasClosed) {
                consumed.withLockedValue { $0 = start + used }
                return
            }
            if got.count != progress.count {
                progress = (got.count, .now())
            } else if NIODeadline.now() - progress.at > .milliseconds(Int64(stall * 1000)) {
                throw StreamError(description: stalled(got))
            }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// At most 48 bytes as hex, for messages.
    public static func hex<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        let shown = bytes.prefix(48).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
        return "[" + shown.joined(separator: " ") + (bytes.count > 48 ? " … (\(bytes.count) bytes)" : "") + "]"
    }
}
