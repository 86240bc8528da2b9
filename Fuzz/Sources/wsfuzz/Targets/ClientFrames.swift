import NIOCore
import WebSocketWire

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

@testable import Proxy

/// Drives `ClientFrameStateMachine` (Proxy/Frames) the way `WebSocketSessionHandler` does.
///
/// Two kinds of input, chosen by the first byte:
/// - raw bytes after a few parameter bytes: whatever a client may send. Invariants: the actions are
///   the same whether the bytes come in one read or cut anywhere into several; no data payload is
///   over the message limit (inflated or not); control payloads are at most 125 bytes; nothing is
///   parsed after a close or a failure.
/// - messages built from the input (masked, fragmented, compressed with the proxy's own deflater
///   when permessage-deflate is on): besides the above, what the machine forwards is exactly the
///   messages' bytes.
enum ClientFrames {
    /// One read of the machine: every action until it needs more data.
    static func actions(
        of pieces: [ArraySlice<UInt8>], machine: inout ClientFrameStateMachine
    ) -> [ClientFrameStateMachine.Action] {
        var out: [ClientFrameStateMachine.Action] = []
        for piece in pieces {
            var buffer = ByteBuffer(bytes: piece)
            while true {
                let action = machine.next(&buffer)
                if case .needMoreData = action {
                    FuzzCheck.require(buffer.readableBytes == 0, "needMoreData left \(buffer.readableBytes) bytes unread")
                    break
                }
                out.append(action)
            }
        }
        return out
    }

    static func run(_ bytes: [UInt8], deflate: Bool) {
        var input = FuzzInput(bytes)
        let control = input.byte()
        let mode: PayloadMode = control & 1 == 0 ? .binary : .base64
        let generated = control & 2 != 0
        let noContextTakeover = control & 4 != 0
        // Small limits reach the 1009 paths; large ones the long lengths.
        let maxMessageSize = [125, 126, 1 << 10, 65_535, 65_536, 1 << 20][Int(control >> 3) % 6]
        let agreed = deflate
            ? PerMessageDeflate(serverNoContextTakeover: noContextTakeover, clientNoContextTakeover: noContextTakeover)
            : nil
        let cutSeed = (0..<Int(input.byte() % 17)).map { _ in input.byte() }
        let wire: [UInt8]
        var expected: [[UInt8]]? = nil
        var largest = 0
        if generated {
            let built = MessageBuilder.build(from: &input, deflate: agreed, mode: mode)
            wire = built.wire
            expected = built.messages
            largest = built.largest
        } else {
            wire = input.rest
        }
        func fresh() -> ClientFrameStateMachine {
            ClientFrameStateMachine(maxMessageSize: maxMessageSize, mode: mode, deflate: agreed)
        }
        var whole = fresh()
        let once = actions(of: [wire[...]], machine: &whole)
        var pieces = fresh()
        let cut = actions(of: FuzzInput.cuts(of: wire, seed: cutSeed), machine: &pieces)
        FuzzCheck.require(once == cut, "actions differ when the frames are cut at \(cutSeed): \(once) vs \(cut)")
        FuzzCheck.require(whole.isClosed == pieces.isClosed, "closed state differs when cut")
        check(once, maxMessageSize: maxMessageSize, closed: whole.isClosed)
        guard let expected else { return }
        // Built messages: within the limit they come out as they went in (base64 mode decodes text).
        var forwarded: [[UInt8]] = []
        var current: [UInt8] = []
        var failed = false
        for action in once {
            switch action {
            case .data(_, let isFinal, _, let forward):
                if let forward { current += forward.readableBytesView }
                if isFinal {
                    forwarded.append(current)
                    current = []
                }
            case .fail:
                failed = true
            default:
                break
            }
        }
        // A message over the limit (as sent or as inflated) fails with 1009; any other must not fail.
        FuzzCheck.require(
            failed == (largest > maxMessageSize),
            "largest built message \(largest) bytes, limit \(maxMessageSize), failed: \(failed) (\(once.last.map { "\($0)" } ?? ""))")
        if !failed {
            FuzzCheck.require(
                forwarded == expected, "built messages came out different: \(expected.map(\.count)) in, \(forwarded.map(\.count)) out")
        }
    }

    private static func check(_ actions: [ClientFrameStateMachine.Action], maxMessageSize: Int, closed: Bool) {
        for (index, action) in actions.enumerated() {
            switch action {
            case .needMoreData:
                FuzzCheck.require(false, "needMoreData among the actions")
            case .data(_, _, let payload, let forward):
                FuzzCheck.require(payload.readableBytes <= maxMessageSize, "a data payload over the message limit")
                FuzzCheck.require((forward?.readableBytes ?? 0) <= maxMessageSize, "forwarded bytes over the message limit")
            case .ping(let payload), .pong(let payload):
                FuzzCheck.require(payload.readableBytes <= 125, "a control payload over 125 bytes")
            case .close(let code, _, let payload):
                FuzzCheck.require(payload.readableBytes <= 125, "a close payload over 125 bytes")
                if let code { FuzzCheck.require(CloseCode.isValidOnWire(code), "close code \(code) accepted") }
                FuzzCheck.require(index == actions.count - 1, "actions after a close")
            case .fail(let code, _):
                FuzzCheck.require(index == actions.count - 1, "actions after a failure")
                FuzzCheck.require([1002, 1007, 1009].contains(code), "failure with close code \(code)")
            }
        }
        if let last = actions.last {
            switch last {
            case .close, .fail: FuzzCheck.require(closed, "not closed after a close or a failure")
            default: FuzzCheck.require(!closed, "closed without a close or a failure")
            }
        }
    }
}

/// Builds valid client frames for messages taken from a fuzz input.
enum MessageBuilder {
    /// The bytes each message must come out as, and the frames on the wire.
    static func build(
        from input: inout FuzzInput, deflate: PerMessageDeflate?, mode: PayloadMode
    ) -> (messages: [[UInt8]], wire: [UInt8], largest: Int) {
        let deflater = deflate.map { PerMessageDeflater(parameters: $0) }
        let key = (input.byte(), input.byte(), input.byte(), input.byte())
        var messages: [[UInt8]] = []
        var wire: [UInt8] = []
        var largest = 0
        for _ in 0..<Int(input.byte() % 5) {
            let shape = input.byte()
            let length = Int(input.uint16()) % 4096
            var content = (0..<length).map { _ in input.byte() }
            // Text in base64 mode carries base64; in binary mode a text message is forwarded as is
            // and must be UTF-8: build text from ASCII.
            let text = shape & 1 == 1
            if text { content = content.map { 0x20 + $0 % 0x5F } }
            let sent = text && mode == .base64 ? Array(Data(content).base64EncodedString().utf8) : content
            var payload = sent
            var compressed = false
            if let deflater, shape & 2 != 0,
                let output = deflater.compress(ByteBuffer(bytes: sent), allocator: ByteBufferAllocator())
            {
                payload = Array(output.readableBytesView)
                compressed = true
            }
            largest = max(largest, sent.count, payload.count)
            let fragments = max(1, Int(shape >> 4) % 4 + 1)
            let pieces = FuzzInput.cuts(of: payload, seed: (0..<2 * (fragments - 1)).map { _ in input.byte() })
            let frames = pieces.isEmpty ? [payload[...]] : pieces
            for (index, piece) in frames.enumerated() {
                let opcode: Opcode = index == 0 ? (text ? .text : .binary) : .continuation
                let header = FrameHeader(
                    fin: index == frames.count - 1, rsv: compressed && index == 0 ? 0x4 : 0, opcode: opcode,
                    maskKey: key, payloadLength: piece.count)
                wire += encode(header, Array(piece), key: key)
                if shape & 4 != 0, index == 0 {
                    // A ping between the fragments of a message is allowed (RFC 6455 §5.4).
                    wire += encode(FrameHeader(opcode: .ping, maskKey: key, payloadLength: 3), [1, 2, 3], key: key)
                }
            }
            messages.append(content)
        }
        return (messages, wire, largest)
    }

    static func encode(_ header: FrameHeader, _ payload: [UInt8], key: (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: header.encodedSize + payload.count)
        out.withUnsafeMutableBytes { raw in
            let size = header.encode(into: raw)
            payload.withUnsafeBytes { source in
                WebSocketUnmask.apply(
                    key: key, offset: 0, source: source, destination: UnsafeMutableRawBufferPointer(rebasing: raw[size...]))
            }
        }
        return out
    }

}

enum ClientFramesTarget {
    static let target = FuzzTarget(
        name: "client-frames",
        summary: "ClientFrameStateMachine: same actions however the bytes are cut; limits; built messages forwarded exactly"
    ) { ClientFrames.run($0, deflate: false) }
}

enum ClientFramesDeflateTarget {
    static let target = FuzzTarget(
        name: "client-frames-deflate",
        summary: "ClientFrameStateMachine with permessage-deflate: as client-frames, inflation bounded by the message limit"
    ) { ClientFrames.run($0, deflate: true) }
}
