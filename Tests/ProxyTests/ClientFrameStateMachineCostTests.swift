import NIOCore
import Proxy
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a fragmented text message costs, counted rather than timed: the bytes the machine's buffers
/// allocate and the bytes copied because a buffer was written while shared (issue 12 §5: every
/// fragment used to copy the whole message so far).
// Serialized: the allocation counters are process-wide (the deflate bomb's test is in
// ClientFrameStateMachineCostTests+Deflate.swift).
@Suite("Client frame state machine: cost of fragmented text", .serialized)
struct ClientFrameStateMachineCostTests {
    /// Feeds `message` as one text message in `fragment`-byte frames, one frame per read, to a
    /// machine whose buffers come from ``CountingAllocator``; returns what it forwarded.
    func relay(_ message: [UInt8], fragment: Int, mode: PayloadMode) -> [UInt8] {
        var machine = ClientFrameStateMachine(
            maxMessageSize: 1 << 20, mode: mode, allocator: CountingAllocator.allocator)
        var out: [UInt8] = []
        let starts = Array(stride(from: 0, to: message.count, by: fragment))
        for start in starts {
            var frame = clientFrame(
                opcode: start == 0 ? 1 : 0, payload: Array(message[start..<min(message.count, start + fragment)]),
                fin: start == starts.last)
            while case let action = machine.next(&frame), action != .needMoreData {
                if case .data(_, _, _, let forward?) = action { out += forward.readableBytesView }
            }
        }
        return out
    }

    @Test("a 256 KiB text message in 64-byte fragments costs a few times its size, in both modes")
    func linearInTheMessage() {
        // One test for both modes: the counters are process-wide.
        let text = Array(String(repeating: "d\u{E9}j\u{E0} vu \u{20AC}\u{1F600} ", count: 14_564).utf8)
        let raw = (0..<(192 << 10)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        let base64 = Array(Data(raw).base64EncodedString().utf8)
        for (mode, message, expected) in [(PayloadMode.binary, text, text), (.base64, base64, raw)] {
            CountingAllocator.reset()
            let forwarded = relay(message, fragment: 64, mode: mode)
            let allocated = CountingAllocator.allocated
            let copied = CountingAllocator.copied
            #expect(forwarded == expected, "\(mode)")
            // Each fragment's own buffer (its payload) plus, in base64 mode, one growing buffer and
            // the decoded bytes: about 4x. Copying the message so far per fragment is n²/128 bytes,
            // about 2,000x here.
            #expect(allocated <= 6 * message.count, "\(mode): \(allocated) bytes allocated for \(message.count)")
            #expect(copied <= message.count, "\(mode): \(copied) bytes copied for \(message.count)")
        }
    }
}
