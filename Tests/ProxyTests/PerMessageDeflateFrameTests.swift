import NIOCore
import Testing
import TestSupport
import WebSocketWire

@testable import Proxy

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Compressed client messages through the frame state machine (RFC 7692 §6–§7.2).
@Suite("permessage-deflate: client frames")
struct PerMessageDeflateFrameTests {
    static let agreed = PerMessageDeflate()

    /// Feeds `frames` to a machine with `deflate` and returns every action up to the first
    /// `.needMoreData` after all input.
    func run(
        _ frames: [ByteBuffer], deflate: PerMessageDeflate? = agreed, mode: PayloadMode = .binary, max: Int = 1 << 20
    ) -> [ClientFrameStateMachine.Action] {
        var machine = ClientFrameStateMachine(maxMessageSize: max, mode: mode, deflate: deflate)
        var actions: [ClientFrameStateMachine.Action] = []
        for var frame in frames {
            while case let action = machine.next(&frame), action != .needMoreData { actions.append(action) }
        }
        return actions
    }

    func failCode(_ actions: [ClientFrameStateMachine.Action]) -> UInt16? {
        if case .fail(let code, _) = actions.last { return code }
        return nil
    }

    /// The bytes forwarded to the target, all messages together.
    func forwarded(_ actions: [ClientFrameStateMachine.Action]) -> [UInt8] {
        actions.flatMap { action -> [UInt8] in
            if case .data(_, _, _, let forward?) = action { return Array(forward.readableBytesView) }
            return []
        }
    }

    static let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog \u{20AC} ", count: 200).utf8)

    @Test("a compressed binary message is inflated; the action carries the application bytes")
    func binaryMessage() throws {
        let message = noise(3000, seed: 3).map { $0 & 0x0F }
        let compressed = try DeflateClient().compress(message)
        #expect(compressed.count < message.count)
        let actions = run([clientFrame(opcode: 2, payload: compressed, rsv: 4)])
        #expect(failCode(actions) == nil)
        #expect(forwarded(actions) == message)
        guard case .data(let opcode, let fin, let payload, _) = actions.first else {
            Issue.record("expected data, got \(actions)")
            return
        }
        #expect(opcode == .binary && fin && Array(payload.readableBytesView) == message)
    }

    @Test("uncompressed messages still pass in a session with the extension")
    func uncompressedMessage() {
        #expect(forwarded(run([clientFrame(opcode: 2, payload: [1, 2, 3])])) == [1, 2, 3])
    }

    @Test("an empty compressed message (a lone 0x00 block) and a compressed empty frame inflate to nothing")
    func emptyMessages() throws {
        let empty = try DeflateClient().compress([])
        let actions = run([clientFrame(opcode: 2, payload: empty, rsv: 4), clientFrame(opcode: 2, payload: [], rsv: 4)])
        #expect(failCode(actions) == nil)
        #expect(actions.count == 2 && forwarded(actions).isEmpty)
    }

    @Test("a compressed message in fragments: RSV1 on the first frame only, inflated frame by frame")
    func fragmented() throws {
        let compressed = try DeflateClient().compress(Self.text)
        let cut1 = compressed.count / 3
        let cut2 = 2 * compressed.count / 3
        let actions = run([
            clientFrame(opcode: 1, payload: Array(compressed[..<cut1]), fin: false, rsv: 4),
            clientFrame(opcode: 9, payload: [7]),  // a ping between fragments
            clientFrame(opcode: 0, payload: Array(compressed[cut1..<cut2]), fin: false),
            clientFrame(opcode: 0, payload: Array(compressed[cut2...])),
        ])
        #expect(failCode(actions) == nil)
        #expect(forwarded(actions) == Self.text)
        #expect(actions.count == 4)
    }

    @Test("RSV1 on a continuation frame fails with 1002")
    func rsv1OnContinuation() throws {
        let compressed = try DeflateClient().compress(Self.text)
        let actions = run([
            clientFrame(opcode: 2, payload: Array(compressed.prefix(10)), fin: false, rsv: 4),
            clientFrame(opcode: 0, payload: Array(compressed.dropFirst(10)), rsv: 4),
        ])
        #expect(failCode(actions) == 1002)
        // Also on the continuation of an uncompressed message.
        #expect(failCode(run([clientFrame(opcode: 2, payload: [1], fin: false), clientFrame(opcode: 0, payload: [2], rsv: 4)])) == 1002)
    }

    @Test("RSV1 on a control frame fails with 1002", arguments: [8, 9, 10] as [UInt8])
    func rsv1OnControl(opcode: UInt8) {
        #expect(failCode(run([clientFrame(opcode: opcode, payload: [], rsv: 4)])) == 1002)
    }

    @Test("RSV1 without the extension, and RSV2/RSV3 with it, fail with 1002")
    func otherReservedBits() throws {
        let compressed = try DeflateClient().compress([1, 2, 3])
        #expect(failCode(run([clientFrame(opcode: 2, payload: compressed, rsv: 4)], deflate: nil)) == 1002)
        for rsv: UInt8 in [1, 2, 3, 5, 6, 7] {
            #expect(failCode(run([clientFrame(opcode: 2, payload: compressed, rsv: rsv)])) == 1002, "rsv \(rsv)")
        }
    }

    @Test("text is checked for UTF-8 after inflating: invalid bytes fail with 1007, valid ones pass")
    func textUTF8() throws {
        let valid = run([clientFrame(opcode: 1, payload: try DeflateClient().compress(Self.text), rsv: 4)])
        #expect(forwarded(valid) == Self.text)
        let invalid = Self.text.prefix(100) + [0xC3, 0x28] + Self.text.prefix(100)
        #expect(failCode(run([clientFrame(opcode: 1, payload: try DeflateClient().compress(Array(invalid)), rsv: 4)])) == 1007)
        // A message ending inside a character (cut after the first byte of "€").
        let cut = Array("abc\u{20AC}".utf8.dropLast(2))
        #expect(failCode(run([clientFrame(opcode: 1, payload: try DeflateClient().compress(cut), rsv: 4)])) == 1007)
    }

    @Test("base64 mode decodes the inflated text")
    func base64() throws {
        let raw: [UInt8] = Array(0..<200)
        let text = Array(Data(raw).base64EncodedString().utf8)
        let actions = run([clientFrame(opcode: 1, payload: try DeflateClient().compress(text), rsv: 4)], mode: .base64)
        #expect(forwarded(actions) == raw)
    }

    @Test("bytes that are not deflate data fail with 1007")
    func corrupt() {
        // 0xFF: a block of the reserved type 3.
        #expect(failCode(run([clientFrame(opcode: 2, payload: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF], rsv: 4)])) == 1007)
    }

    @Test("context takeover: a message may refer back to the one before; no_context_takeover resets")
    func contextTakeover() throws {
        let message = noise(20_000, seed: 9)
        let client = try DeflateClient(takeover: true)
        let first = try client.compress(message)
        let second = try client.compress(message)
        // The second refers back to the first: a few bytes instead of a whole compressed message.
        #expect(second.count < first.count / 4)
        let frames = [clientFrame(opcode: 2, payload: first, rsv: 4), clientFrame(opcode: 2, payload: second, rsv: 4)]
        #expect(forwarded(run(frames)) == message + message)
        // A proxy that had agreed client_no_context_takeover forgets the first message: the back
        // reference is then invalid, never silently the same bytes.
        let forgetting = run(frames, deflate: PerMessageDeflate(clientNoContextTakeover: true))
        #expect(failCode(forgetting) == 1007)
        // A client without takeover works with either.
        let resetting = try DeflateClient(takeover: false)
        let independent = [try resetting.compress(message), try resetting.compress(message)].map {
            clientFrame(opcode: 2, payload: $0, rsv: 4)
        }
        #expect(forwarded(run(independent, deflate: PerMessageDeflate(clientNoContextTakeover: true))) == message + message)
        #expect(forwarded(run(independent)) == message + message)
    }

    @Test("a client window smaller than 15 bits inflates with the proxy's 15-bit window", arguments: [9, 12] as [Int32])
    func smallClientWindow(bits: Int32) throws {
        let client = try DeflateClient(windowBits: bits)
        let messages = (0..<3).map { noise(20_000, seed: UInt64($0)).map { $0 & 0x03 } }
        let frames = try messages.map { clientFrame(opcode: 2, payload: try client.compress($0), rsv: 4) }
        #expect(forwarded(run(frames)) == messages.flatMap { $0 })
    }

    @Test("a message that ends with a final deflate block (BFINAL) is read, and the next one too")
    func finalBlock() throws {
        let frames = [
            clientFrame(opcode: 2, payload: try DeflateClient.compressFinished([1, 2, 3, 1, 2, 3]), rsv: 4),
            clientFrame(opcode: 2, payload: try DeflateClient.compressFinished([4, 5, 6]), rsv: 4),
        ]
        #expect(forwarded(run(frames)) == [1, 2, 3, 1, 2, 3, 4, 5, 6])
        // Data after the final block is not deflate data.
        let trailing = try DeflateClient.compressFinished([1, 2, 3]) + [0x12, 0x34]
        #expect(failCode(run([clientFrame(opcode: 2, payload: trailing, rsv: 4)])) == 1007)
    }

    @Test("the inflated size counts against the message limit: exactly the limit passes, one more is 1009")
    func inflatedLimit() throws {
        let limit = 100_000
        let exact = try DeflateClient().compress([UInt8](repeating: 7, count: limit))
        #expect(forwarded(run([clientFrame(opcode: 2, payload: exact, rsv: 4)], max: limit)).count == limit)
        let over = try DeflateClient().compress([UInt8](repeating: 7, count: limit + 1))
        #expect(failCode(run([clientFrame(opcode: 2, payload: over, rsv: 4)], max: limit)) == 1009)
        // Fragments add up once inflated too (the last frame takes it over the limit).
        let fragments = [UInt8](over.prefix(over.count - 2))
        let actions = run(
            [
                clientFrame(opcode: 2, payload: Array(fragments.prefix(fragments.count / 2)), fin: false, rsv: 4),
                clientFrame(opcode: 0, payload: Array(fragments.dropFirst(fragments.count / 2)), fin: false),
                clientFrame(opcode: 0, payload: Array(over.suffix(2))),
            ], max: limit)
        #expect(actions.count == 3)
        #expect(failCode(actions) == 1009, "\(actions)")
    }
}
