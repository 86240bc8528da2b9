import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

/// A hostile (or very unlucky) file: tens of thousands of minimal gap blocks before one record.
/// ``RecordFileReader/nextEntry()`` reads them all ahead on its way to the record and must hand
/// them out in linear time, or `dump` and `diff` hang on such a file.
@Suite("a recording with many gap blocks in a row")
struct ManyGapsTests {
    static let gapCount = 100_000
    static let start: Int64 = 1_764_000_000_000_000

    /// An open record, `gapCount` gap blocks of 72 bytes each (no sessions, no detail), then a close.
    func manyGapsRecording(_ path: String) throws {
        let writer = try RecordFileWriter(path: path, configuration: .init(), clock: ManualClock())
        try writer.append(
            Record(
                session: 1, timeMicros: 0,
                body: .open(SessionOpen(startWallMicros: Self.start, target: .hostPort("127.0.0.1:5900")))))
        for i in 0..<Self.gapCount {
            let wall = Self.start + Int64(i)
            try writer.appendGap(
                RecordGap(
                    causes: .writeFailed, detail: "", records: 0, payloadBytes: 0, firstWallMicros: wall,
                    lastWallMicros: wall, sessions: []))
        }
        try writer.append(
            Record(session: 1, timeMicros: 1000, body: .close(SessionClose(closedBy: .target, code: 1000))))
        try writer.close()
    }

    @Test("100,000 gaps before a record are read in order, in linear time")
    func aHundredThousandGaps() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("many-gaps.rec").path
        try manyGapsRecording(path)

        let reader = try RecordFileReader(path: path)
        let clock = ContinuousClock()
        var gaps = 0
        var records: [Record] = []
        var inOrder = true
        let elapsed = try clock.measure {
            while let entry = try reader.nextEntry() {
                switch entry {
                case .record(let record):
                    records.append(record)
                case .gap(let gap):
                    // Gaps come out in file order: their times count up from the start.
                    if gap.firstWallMicros != Self.start + Int64(gaps) { inOrder = false }
                    gaps += 1
                }
            }
        }
        #expect(gaps == Self.gapCount)
        #expect(inOrder)
        #expect(records.count == 2)
        #expect(reader.damages.isEmpty)
        // Handing the gaps out one by one by removing the first of an array moved ~5e9 entries
        // (about 30 s in a debug build); a linear reader needs well under a second. The bound is far from both.
        #expect(elapsed < .seconds(5), "reading \(Self.gapCount) gaps took \(elapsed)")
        print("ManyGapsTests: read \(gaps) gaps and \(records.count) records in \(elapsed)")
    }
}
