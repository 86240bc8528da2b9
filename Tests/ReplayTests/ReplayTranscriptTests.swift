import Foundation
import RecordFormat
import Testing

@testable import Replay

/// `--record-client`: the session as it happened against the client under test.
struct ReplayTranscriptTests {
    let ms: UInt64 = 1_000_000

    @Test func theTranscriptHoldsWhatWasPlayedAndWhatTheClientSentAndLoadsAsARecording() throws {
        let session = makeSession(
            [(0, t2c, bytes("hi")), (10, c2t, bytes("req")), (30, t2c, bytes("answer"))], closedBy: .target, code: 4001)
        var engine = ReplayEngine(session: session, options: .init(rfbAware: false), startNanos: 0)
        engine.transcript = ReplayTranscript(open: SessionOpen(startWallMicros: 5, subprotocol: "binary"))
        #expect(engine.next(nowNanos: 0, clientWritable: true) == .send(bytes("hi")))
        // The client sends something else than recorded: the transcript has what it sent (and, the
        // byte stream having diverged, the answer is played by the clock).
        engine.clientData(bytes("rex"), nowNanos: 12 * ms)
        while case .send = engine.next(nowNanos: 100 * ms, clientWritable: true) {}
        engine.ended(clientClosed: true, code: 1000, nowNanos: 200 * ms)
        let transcript = try #require(engine.result.transcript)
        let frames = transcript.records.compactMap { record -> (UInt64, Direction, [UInt8])? in
            guard case .frame(let frame) = record.body else { return nil }
            return (record.timeMicros, frame.direction, frame.payload)
        }
        #expect(frames.map(\.1) == [t2c, c2t, t2c])
        #expect(frames.map(\.2) == [bytes("hi"), bytes("rex"), bytes("answer")])
        #expect(frames.map(\.0) == [0, 12_000, 100_000], "when it happened, not when it was recorded")
        guard case .close(let close) = transcript.records.last?.body else {
            Issue.record("no close record last: \(transcript.records)")
            return
        }
        #expect(close.closedBy == .client && close.code == 1000)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("transcript-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.rec").path
        try ReplayTranscript.write([transcript, transcript], to: path)
        let loaded = try Recording.load(path: path)
        #expect(loaded.damages.isEmpty)
        #expect(loaded.sessions.map(\.number) == [1, 2])
        let first = try #require(loaded.sessions.first)
        #expect(first.stream(c2t) == bytes("rex") && first.stream(t2c) == bytes("hianswer"))
        #expect(first.ending?.closedBy == .client)
        // An existing file is not overwritten.
        #expect(throws: RecordFormatError.self) { try ReplayTranscript.write([transcript], to: path) }
    }

    @Test func withoutRecordClientNothingIsKept() {
        var engine = ReplayEngine(session: makeSession([(0, t2c, bytes("x"))]), options: .init(), startNanos: 0)
        _ = engine.next(nowNanos: 0, clientWritable: true)
        engine.ended(clientClosed: true, code: 1000, nowNanos: 0)
        #expect(engine.result.transcript == nil)
    }
}
