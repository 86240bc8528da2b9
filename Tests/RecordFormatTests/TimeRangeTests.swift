import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

@Suite("Record times at the ends of the i64 and u64 ranges (issue 12 §3)")
struct TimeRangeTests {
    @Test("wall-clock placement: the range, saturation, and the arithmetic at the limits")
    func recordTime() {
        #expect(RecordTime.wall(start: 1_764_000_000_000_000, time: 5) == 1_764_000_000_000_005)
        #expect(RecordTime.wall(start: 0, time: UInt64(RecordTime.latestWallMicros)) == RecordTime.latestWallMicros)
        #expect(RecordTime.wall(start: 1, time: UInt64(RecordTime.latestWallMicros)) == nil)
        for time in extremeTimes {
            #expect(RecordTime.wall(start: 1_764_000_000_000_000, time: time) == nil)
            #expect(RecordTime.wall(start: .min, time: time) == nil)
            #expect(RecordTime.wall(fileLevelTime: time) == nil)
            #expect(RecordTime.saturatingSum(1_764_000_000_000_000, time) == .max)
            #expect(RecordTime.saturatingSum(.max, time) == .max)
        }
        // A start before 1970 is placed at 1970; one past 9999 at its end.
        #expect(RecordTime.wall(start: .min, time: 7) == 7)
        #expect(RecordTime.wall(start: .max, time: 0) == RecordTime.latestWallMicros)
        #expect(RecordTime.saturatingSum(.min, 0) == .min)
        #expect(RecordTime.saturatingSum(.min, 5) == .min + 5)
        #expect(RecordTime.saturatingSum(-10, 5) == -5)
        #expect(RecordTime.saturatingSum(-10, .max) == .max)
        #expect(RecordTime.saturatingSum(.min, 0xffff_ffff_ffff_ffff) == .max)
        #expect(RecordTime.saturatingSum(.min, 0x8000_0000_0000_0000) == 0)
    }

    @Test("ISO dates for every i64, Int64.min included")
    func isoDates() {
        #expect(TextEncoding.isoDate(wallMicros: RecordTime.latestWallMicros) == "9999-12-31T23:59:59.999999Z")
        #expect(TextEncoding.isoDate(wallMicros: -1) == "1969-12-31T23:59:59.999999Z")
        #expect(TextEncoding.isoDate(wallMicros: .max) == "294247-01-10T04:00:54.775807Z")
        #expect(TextEncoding.isoDate(wallMicros: .min) == "-290308-12-21T19:59:05.224192Z")
    }

    @Test("the timeline places a record out of range at its session's record before it and names it")
    func timeline() {
        for time in extremeTimes {
            var timeline = RecordTimeline()
            var placed: [RecordTimeline.Placement] = []
            for (index, record) in extremeTimeRecords(time).enumerated() {
                placed.append(timeline.place(record, at: RecordLocation(offset: 53, indexInBlock: index)))
            }
            #expect(placed.map(\.isOwnTime) == [true, true, true, false, false, false])
            #expect(placed[3].timeMicros == 2_000)
            #expect(placed[3].wallMicros == 1_764_000_000_002_000)
            #expect(placed[5].timeMicros == 2_000)
            #expect(placed[4].wallMicros == nil)
            #expect(timeline.warnings.isEmpty, "an out-of-range time is not also 'backwards'")
            let findings = timeline.outOfRange
            #expect(findings.map(\.session) == [1, 0])
            #expect(findings.map(\.count) == [2, 1])
            #expect(findings[0].location == RecordLocation(offset: 53, indexInBlock: 3))
            let error = findings[0].error(path: "x.rec")
            #expect(error.code == .timeOutOfRange)
            #expect("\(error)".hasPrefix("x.rec: at byte 53: session 1, record 3 of the block: time \(time) µs"))
        }
        var timeline = RecordTimeline()
        for (index, time) in [UInt64(0), 5_000, 7_000, 5_000, 6_000].enumerated() {
            _ = timeline.place(
                Record(session: 2, timeMicros: time, body: .marker("")), at: RecordLocation(offset: 9, indexInBlock: index))
        }
        #expect(timeline.outOfRange.isEmpty)
        let backwards = timeline.warnings
        #expect(backwards.count == 1)
        #expect(backwards.first?.location == RecordLocation(offset: 9, indexInBlock: 3))
        #expect(backwards.first?.previousMicros == 7_000)
        #expect(backwards.first?.count == 1)
    }
}
