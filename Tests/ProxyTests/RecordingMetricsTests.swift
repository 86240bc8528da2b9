import Foundation
import MetricsTestKit
import RecordFormat
import Testing
import TestSupport
import WebSocketWire

@testable import Proxy

/// The recording's series, read from a real ``BackgroundRecorder`` whose queue overflows: what it
/// refused, the gap blocks that say so, the bytes it wrote, its queue.
@Suite("Recording metrics")
struct RecordingMetricsTests {
    @Test("dropped records, gaps and bytes written are what the recorder did; the queue is empty at the end")
    func overflowingQueue() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("metrics.rec").path
        let recorded = TestMetrics()
        let metrics = RecordingMetrics(factory: recorded)
        let recorder = try BackgroundRecorder(path: path, configuration: .init(queueByteLimit: 64 << 10))
        metrics.watch(recorder)
        let session = recorder.allocateSession()
        recorder.submit(Record(session: session, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1))))
        var refused = 0
        for i in 0..<5000 {
            let frame = Frame(direction: .targetToClient, opcode: .binary, payload: [UInt8](repeating: 7, count: 4000))
            if !recorder.submit(Record(session: session, timeMicros: UInt64(i), body: .frame(frame))) { refused += 1 }
        }
        try #require(refused > 0, "the queue overflowed")
        metrics.update()
        let dropped = try recorded.expectCounter(RecordingMetrics.Label.recordsDropped)
        #expect(dropped.totalValue == Int64(refused))
        recorder.close()
        metrics.update()
        // A second look adds nothing: only what is new is counted.
        metrics.update()

        let reader = try RecordFileReader(path: path)
        while try reader.nextRecord() != nil {}
        #expect(!reader.gaps.isEmpty)
        #expect(try recorded.expectCounter(RecordingMetrics.Label.gaps).totalValue == Int64(reader.gaps.count))
        #expect(dropped.totalValue == Int64(refused))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(try recorded.expectCounter(RecordingMetrics.Label.bytesWritten).totalValue == Int64(size))
        #expect(try recorded.expectGauge(RecordingMetrics.Label.queuedRecords).lastValue == 0)
        #expect(try recorded.expectGauge(RecordingMetrics.Label.queuedBytes).lastValue == 0)
    }
}
