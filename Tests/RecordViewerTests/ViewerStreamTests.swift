import RFB
import RFBDecoding
import RecordFormat
import Testing

@testable import RecordViewer

@Suite struct ViewerStreamTests {
    @Test func piecesRoundTripThroughTheBody() {
        let stream = ViewerStream(mode: .keyframe, pieces: [.init(timeMicros: 5, bytes: [1, 2, 3]), .init(timeMicros: 1 << 40, bytes: [])])
        #expect(ViewerStream.decodePieces(stream.encoded) == stream.pieces)
    }

    /// Seeking anywhere gives noVNC a stream that draws exactly the recorded screen at that time:
    /// before, between and after updates, with a keyframe every second and every 5 s.
    @Test(arguments: [UInt64(1_000_000), 5_000_000])
    func keyframeStreamsDrawTheRecordedScreen(interval: UInt64) throws {
        let recording = ViewerTestSession.recording(keyframeMicros: interval)
        for time: UInt64 in [1_000_000, 1_500_000, 5_950_000, 6_000_000, 6_500_000, 7_000_000, 8_000_000] {
            let stream = try #require(recording.withSession(1) { $0.stream(at: time, supported: [0, 1]) } ?? nil)
            #expect(stream.mode == .keyframe)
            let decoder = RFBFramebufferDecoder()
            let problems = ViewerTestSession.feed(stream, upTo: time, into: decoder)
            #expect(problems.isEmpty, "\(problems)")
            let expected = try #require(ViewerTestSession.screen(at: time))
            #expect(decoder.framebuffer == expected, "at \(time) µs")
        }
    }

    /// A stream that is continued with `from=` (the page's next requests) ends at the same screen.
    @Test func continuedStreamsReachTheEnd() throws {
        let recording = ViewerTestSession.recording(keyframeMicros: 100_000_000)
        let decoder = RFBFramebufferDecoder()
        var stream = try #require(recording.withSession(1) { $0.stream(at: 1_000_000, supported: []) } ?? nil)
        _ = ViewerTestSession.feed(stream, upTo: .max, into: decoder)
        var requests = 0
        while let next = stream.next {
            stream = try #require(recording.withSession(1) { $0.stream(from: next, mode: .keyframe) })
            _ = ViewerTestSession.feed(stream, upTo: .max, into: decoder, handshake: false)
            requests += 1
            try #require(requests < 20)
        }
        #expect(decoder.framebuffer == ViewerTestSession.screen(at: .max))
    }

    /// From the start, and only when noVNC can decode it, noVNC gets the recorded bytes.
    @Test func originalBytesOnlyInNoVNCsFormatAndEncodings() throws {
        let novnc = ViewerStreamWriter.noVNCPixelFormat
        let own = ViewerTestSession.recording(format: novnc)
        let original = try #require(own.withSession(1) { $0.stream(at: 0, supported: [0, 1, -223]) } ?? nil)
        #expect(original.mode == .original)
        let decoder = RFBFramebufferDecoder()
        _ = ViewerTestSession.feed(original, upTo: .max, into: decoder)
        #expect(decoder.framebuffer == ViewerTestSession.screen(at: .max, format: novnc))
        // Later than the first update: a keyframe.
        #expect(own.withSession(1) { $0.stream(at: 6_000_000, supported: [0, 1])?.mode } == .keyframe)
        // CopyRect not among what the page's noVNC decodes.
        #expect(own.withSession(1) { $0.stream(at: 0, supported: [0])?.mode } == .keyframe)
        // Another pixel format than noVNC's.
        #expect(ViewerTestSession.recording().withSession(1) { $0.stream(at: 0, supported: [0, 1])?.mode } == .keyframe)
    }

    @Test func aSessionStillBeingWrittenHasANextChunk() throws {
        let recording = ViewerRecording(path: "live.rec")
        recording.began(format: .native, following: true)
        for record in ViewerTestSession.records(close: false) { recording.apply(.record(record)) }
        let stream = try #require(recording.withSession(1) { $0.stream(at: 8_000_000, supported: []) } ?? nil)
        let next = try #require(stream.next)
        #expect(recording.withSession(1) { $0.serverChunks.count } == next)
        recording.finishReading()
        #expect(recording.withSession(1) { $0.stream(from: next, mode: .keyframe).next } == .some(nil))
    }

    @Test func noScreenBeforeServerInit() {
        let recording = ViewerRecording(path: "x.rec")
        for record in ViewerTestSession.records().prefix(6) { recording.apply(.record(record)) }
        #expect(recording.withSession(1) { $0.stream(at: 0, supported: []) } == .some(nil))
    }
}

@Suite struct ViewerGapTests {
    /// A gap block that lost server frames: the timeline shows it, and the screen is not followed
    /// past it (a seek there gets the last screen before the gap, never one drawn from misplaced bytes).
    @Test func aGapThatLostServerBytesStopsTheScreen() throws {
        let recording = ViewerRecording(path: "gap.rec")
        let records = ViewerTestSession.records()
        let before = records.filter { $0.timeMicros < 5_000_000 }
        let after = records.filter { $0.timeMicros >= 5_000_000 }
        for record in before { recording.apply(.record(record)) }
        let loss = RecordGap.SessionLoss(
            session: 1, records: 1, targetToClient: DirectionTotals(frames: 1, bytes: 100), firstTimeMicros: 5_000_000,
            lastTimeMicros: 5_100_000, firstWallMicros: 0, lastWallMicros: 0)
        recording.apply(.gap(RecordGap(
            causes: .queueFull, detail: "", records: 1, payloadBytes: 100, firstWallMicros: 0, lastWallMicros: 0,
            sessions: [loss])))
        for record in after { recording.apply(.record(record)) }
        recording.finishReading()
        let timeline = try #require(recording.withSession(1) { $0.timelineJSON(buckets: 4).rendered })
        #expect(timeline.contains("\"gaps\":[{\"from\":5000000,\"to\":5100000,\"records\":1,\"client_bytes\":0,\"target_bytes\":100}]"))
        #expect(timeline.contains("\"screen_stopped_us\":5000000"))
        let stream = try #require(recording.withSession(1) { $0.stream(at: 8_000_000, supported: []) } ?? nil)
        let decoder = RFBFramebufferDecoder()
        _ = ViewerTestSession.feed(stream, upTo: .max, into: decoder)
        #expect(decoder.framebuffer == ViewerTestSession.screen(at: 4_000_000))
    }
}
