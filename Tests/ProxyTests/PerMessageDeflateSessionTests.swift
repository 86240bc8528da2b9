import MetricsTestKit
import NIOCore
import NIOEmbedded
import RecordFormat
import Testing
import TestSupport
import WebSocketWire

@testable import Proxy

/// permessage-deflate through the session handler: what goes over the wire compressed, what the
/// target and the recording see (the application's bytes).
@Suite("permessage-deflate: sessions")
struct PerMessageDeflateSessionTests {
    /// A server frame parsed off the client's output.
    struct WireFrame {
        var rsv: UInt8
        var opcode: Opcode
        var payload: [UInt8]
    }

    func frames(_ bytes: [UInt8]) throws -> [WireFrame] {
        var out: [WireFrame] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let parsed = Array(rest).withUnsafeBytes { FrameHeader.parse($0) }
            guard case .header(let header, let size) = parsed else {
                Issue.record("not a frame: \(parsed)")
                return out
            }
            let start = rest.startIndex + size
            try #require(rest.count >= size + header.payloadLength)
            out.append(WireFrame(rsv: header.rsv, opcode: header.opcode, payload: Array(rest[start..<(start + header.payloadLength)])))
            rest = rest[(start + header.payloadLength)...]
        }
        return out
    }

    static let screen = (0..<40_000).map { UInt8(($0 / 64) % 7) }

    @Test("target bytes go compressed (RSV1) when worth it; a recording keeps the application bytes both ways")
    func compressedBothWays() throws {
        let recording = try TapRecording()
        let (recorder, redaction) = (recording.recording.recorder, recording.recording.redaction)
        let session = try SessionHarness(
            taps: [{ _ in RecordingTap(recorder: recorder, redaction: redaction) }], deflate: PerMessageDeflate())
        try session.target.writeInbound(ByteBuffer(bytes: Self.screen))
        try session.target.writeInbound(ByteBuffer(bytes: [1, 2, 3]))  // too small to be worth it
        let sent = try frames(session.takeOutbound(session.client))
        try #require(sent.count == 2)
        #expect(sent[0].rsv == 4 && sent[0].opcode == .binary)
        #expect(sent[0].payload.count < Self.screen.count / 10)
        let client = try DeflateClient()
        #expect(try client.inflate(sent[0].payload) == Self.screen)
        #expect(sent[1].rsv == 0 && sent[1].payload == [1, 2, 3])
        // The client answers compressed; the target gets the inflated bytes.
        let answer = Array("key event".utf8)
        try session.client.writeInbound(clientFrame(opcode: 2, payload: try client.compress(answer), rsv: 4))
        #expect(try session.takeOutbound(session.target) == answer)
        try session.end()
        let recorded = try recording.closeAndReadFrames().map { ($0.direction, $0.payload) }
        try #require(recorded.count == 3)
        #expect(recorded[0] == (.targetToClient, Self.screen))
        #expect(recorded[1] == (.targetToClient, [1, 2, 3]))
        #expect(recorded[2] == (.clientToTarget, answer))
    }

    @Test("context takeover toward the client: a repeated screen costs a few bytes; no_context_takeover resets")
    func takeoverToClient() throws {
        for noTakeover in [false, true] {
            let session = try SessionHarness(deflate: PerMessageDeflate(serverNoContextTakeover: noTakeover))
            let client = try DeflateClient()
            var sizes: [Int] = []
            // Four bits of noise per byte: compresses to about half, and repeats only across messages.
            let update = noise(8000, seed: 5).map { $0 & 0x0F }
            for _ in 0..<2 {
                try session.target.writeInbound(ByteBuffer(bytes: update))
                let sent = try frames(session.takeOutbound(session.client))
                try #require(sent.count == 1 && sent[0].rsv == 4)
                #expect(try client.inflate(sent[0].payload) == update)
                sizes.append(sent[0].payload.count)
            }
            if noTakeover {
                #expect(sizes[1] == sizes[0], "each message compressed on its own")
            } else {
                #expect(sizes[1] < sizes[0] / 10, "the second refers back to the first: \(sizes)")
            }
            try session.end()
        }
    }

    @Test("data that does not compress goes uncompressed: sampled when large, backed off when small")
    func incompressible() throws {
        let session = try SessionHarness(deflate: PerMessageDeflate())
        // Large random messages: the entropy sample says no, and they count as misses.
        for seed in 0..<3 {
            try session.target.writeInbound(ByteBuffer(bytes: noise(20_000, seed: UInt64(seed))))
        }
        #expect(try frames(session.takeOutbound(session.client)).map(\.rsv) == [0, 0, 0])
        // A message that compresses well resets the count.
        try session.target.writeInbound(ByteBuffer(bytes: Self.screen))
        #expect(try frames(session.takeOutbound(session.client)).map(\.rsv) == [4])
        // Small random messages (too small to sample): tried, found not to shrink, then skipped.
        var flags: [UInt8] = []
        for seed in 0..<40 {
            try session.target.writeInbound(ByteBuffer(bytes: noise(1000, seed: UInt64(100 + seed))))
            flags += try frames(session.takeOutbound(session.client)).map(\.rsv)
        }
        #expect(flags.prefix(AdaptiveCompressionPolicy.missesBeforeBackoff).allSatisfy { $0 == 4 })
        let skipped = flags.dropFirst(AdaptiveCompressionPolicy.missesBeforeBackoff)
            .prefix(AdaptiveCompressionPolicy.initialBackoff)
        #expect(skipped.allSatisfy { $0 == 0 })
        try session.end()
    }

    @Test("metrics: compressed messages' application bytes and wire bytes, per direction, added by the session's end")
    func metrics() throws {
        let recorded = TestMetrics()
        let session = try SessionHarness(metrics: ProxyMetrics(factory: recorded), deflate: PerMessageDeflate())
        try session.target.writeInbound(ByteBuffer(bytes: Self.screen))
        try session.target.writeInbound(ByteBuffer(bytes: [1, 2, 3]))  // sent uncompressed: not counted
        let sent = try frames(session.takeOutbound(session.client))
        let client = try DeflateClient()
        let answer = [UInt8](repeating: 0x41, count: 5000)
        let compressedAnswer = try client.compress(answer)
        try session.client.writeInbound(clientFrame(opcode: 2, payload: compressedAnswer, rsv: 4))
        try session.client.writeInbound(clientFrame(opcode: 8, payload: closePayload(1000)))
        try session.end()
        func counter(_ label: String, _ direction: String) throws -> Int64 {
            try recorded.expectCounter(label, [("direction", direction)]).totalValue
        }
        #expect(try counter(CompressionMeter.Label.payloadBytes, "target_to_client") == Int64(Self.screen.count))
        #expect(try counter(CompressionMeter.Label.wireBytes, "target_to_client") == Int64(sent[0].payload.count))
        #expect(try counter(CompressionMeter.Label.payloadBytes, "client_to_target") == Int64(answer.count))
        #expect(try counter(CompressionMeter.Label.wireBytes, "client_to_target") == Int64(compressedAnswer.count))
    }

    @Test("without the extension nothing is compressed and RSV1 from the client is a protocol error")
    func notAgreed() throws {
        let session = try SessionHarness()
        try session.target.writeInbound(ByteBuffer(bytes: Self.screen))
        #expect(try frames(session.takeOutbound(session.client)).map(\.rsv) == [0])
        try session.client.writeInbound(clientFrame(opcode: 2, payload: try DeflateClient().compress([1, 2]), rsv: 4))
        let closing = try frames(session.takeOutbound(session.client))
        #expect(closing.first?.opcode == .close && closing.first?.payload.prefix(2) == [0x03, 0xEA])
        try session.end()
    }
}

/// The policy alone.
@Suite("permessage-deflate: adaptive policy")
struct AdaptiveCompressionPolicyTests {
    @Test("small messages are never compressed; the backoff doubles while data keeps not compressing, and resets")
    func backoff() {
        var policy = AdaptiveCompressionPolicy()
        let small = [UInt8](repeating: 1, count: AdaptiveCompressionPolicy.minimumSize - 1)
        let normal = [UInt8](repeating: 1, count: 1000)
        #expect(!small.withUnsafeBytes { policy.shouldCompress($0) })
        func skippedAfterMisses() -> Int {
            for _ in 0..<AdaptiveCompressionPolicy.missesBeforeBackoff {
                #expect(normal.withUnsafeBytes { policy.shouldCompress($0) })
                policy.compressed(from: 1000, to: 990)
            }
            var skipped = 0
            // The first message after the skipped ones is tried again.
            while !normal.withUnsafeBytes({ policy.shouldCompress($0) }) { skipped += 1 }
            return skipped
        }
        #expect(skippedAfterMisses() == 16)
        #expect(skippedAfterMisses() == 32)
        // A message that compresses well resets it.
        for _ in 0..<AdaptiveCompressionPolicy.missesBeforeBackoff - 1 {
            #expect(normal.withUnsafeBytes { policy.shouldCompress($0) })
            policy.compressed(from: 1000, to: 999)
        }
        #expect(normal.withUnsafeBytes { policy.shouldCompress($0) })
        policy.compressed(from: 1000, to: 100)
        #expect(skippedAfterMisses() == 16)
    }

    @Test("a message the sample finds random is a miss: after a few, the sample itself is skipped")
    func sampledMisses() {
        var policy = AdaptiveCompressionPolicy()
        let random = noise(64 << 10, seed: 7)
        let text = [UInt8](repeating: 0x41, count: 64 << 10)
        for _ in 0..<AdaptiveCompressionPolicy.missesBeforeBackoff {
            #expect(!random.withUnsafeBytes { policy.shouldCompress($0) })
        }
        // Backing off: even data that would compress is not sampled or tried.
        for _ in 0..<AdaptiveCompressionPolicy.initialBackoff {
            #expect(!text.withUnsafeBytes { policy.shouldCompress($0) })
        }
        #expect(text.withUnsafeBytes { policy.shouldCompress($0) })
        // A miss found by the sample and one found by deflate count alike, and a good message resets both.
        policy.compressed(from: text.count, to: 100)
        for _ in 0..<AdaptiveCompressionPolicy.missesBeforeBackoff - 1 {
            #expect(!random.withUnsafeBytes { policy.shouldCompress($0) })
        }
        #expect(text.withUnsafeBytes { policy.shouldCompress($0) })
        policy.compressed(from: text.count, to: text.count)
        #expect(!text.withUnsafeBytes { policy.shouldCompress($0) }, "the fourth miss in a row backs off")
    }
}
