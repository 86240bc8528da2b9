import NIOConcurrencyHelpers
import NIOCore
import Proxy
import RecordFormat
import Testing
import WebSocketWire

@Suite("Traffic tap")
struct TrafficTapTests {
    func capture(verbose: Bool, _ body: (TrafficTap) -> Void) -> String {
        let text = NIOLockedValueBox("")
        let tap = TrafficTap(
            sessionID: 7, verbose: verbose, output: .init { chunk in text.withLockedValue { $0 += chunk } })
        body(tap)
        return text.withLockedValue { $0 }
    }

    @Test("markers like websockify's: } and > for client frames, { and < for target data, }. for partial")
    func markers() {
        let out = capture(verbose: false) { tap in
            tap.frame(.clientToTarget, opcode: .binary, isFinal: false, payload: ByteBuffer(bytes: [1]))
            tap.frame(.clientToTarget, opcode: .continuation, isFinal: true, payload: ByteBuffer(bytes: [2]))
            tap.frame(.targetToClient, opcode: .binary, isFinal: true, payload: ByteBuffer(bytes: [3]))
            tap.frame(.clientToTarget, opcode: .ping, isFinal: true, payload: ByteBuffer())
            tap.frame(.targetToClient, opcode: .pong, isFinal: true, payload: ByteBuffer())
        }
        #expect(out == "}.}>{<}<")
    }

    @Test("verbose prints one line per frame with session, direction, opcode, FIN and length")
    func verbose() {
        let out = capture(verbose: true) { tap in
            tap.frame(.clientToTarget, opcode: .text, isFinal: false, payload: ByteBuffer(string: "abc"))
            tap.closed(SessionClose(closedBy: .target, code: 1000))
        }
        #expect(out == "[7] client->target text fin=0 3 bytes\n[7] closed by target code 1000\n")
    }
}
