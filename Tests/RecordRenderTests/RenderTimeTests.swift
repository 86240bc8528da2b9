import RFBDecoding
import RecordRender
import Testing

@Suite struct RenderTimeTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-12-06T09:30:12.5Z", Int64(1_796_549_412_500_000)),
        ("2026-12-06 09:30:12.500001Z", Int64(1_796_549_412_500_001)),
        ("2026-12-06T10:30:12.5+01:00", Int64(1_796_549_412_500_000)),
        ("2024-02-29T23:59:59Z", Int64(1_709_251_199_000_000)),
        ("1969-12-31T23:59:59Z", Int64(-1_000_000)),
    ])
    func wallClockTimesAreRead(text: String, micros: Int64) {
        #expect(WallClockTime.micros(text) == micros)
    }

    @Test(arguments: [
        "2026-12-06T09:30:12", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-06T24:00:00Z",
        "2026-12-06T09:30:12.Z", "2026-12-06T09:30:12Zjunk", "12.5s", "", "2026-12-06T09:30:12+1:00",
    ])
    func otherTextIsNotATime(text: String) {
        #expect(WallClockTime.micros(text) == nil)
    }

    @Test func timesAsTextSortAndRound() {
        #expect(RenderTimeText.fileStamp(62_500_000) == "00h01m02.500s")
        #expect(RenderTimeText.fileStamp(3_600_000_000 * 12 + 999_999) == "12h00m01.000s")
        #expect(RenderTimeText.label(62_460_000) == "1:02.5")
        #expect(RenderTimeText.label(3_723_400_000) == "1:02:03.4")
        #expect(RenderTimeText.seconds(12_499_600) == "12.500")
    }

    @Test func videoFramesCoverTheSessionAtTheSpeedAsked() {
        let normal = VideoSettings(fps: 10)
        #expect(normal.frameCount(endMicros: 5_690_000) == 57)
        #expect(normal.sessionMicros(ofFrame: 56) == 5_600_000)
        let fast = VideoSettings(fps: 5, speed: VideoSettings.speed("2")!)
        #expect(fast.frameCount(endMicros: 5_690_000) == 15)
        #expect(fast.sessionMicros(ofFrame: 14) == 5_600_000)
        let slow = VideoSettings(fps: 25, speed: VideoSettings.speed("0.333")!)
        #expect((slow.speedNumerator, slow.speedDenominator) == (333, 1000))
        #expect(VideoSettings.speed("0") == nil && VideoSettings.speed("fast") == nil)
    }

    /// A screen far taller than wide (1×4096 here; 1×65535 is a valid ServerInit) makes a cell at
    /// most twice as tall as wide, the screen fitted into it, not a thumbnail 4096 widths tall.
    @Test func aContactSheetCellIsAtMostTwiceAsTallAsWide() {
        var sheet = ContactSheet(columns: 2, thumbnailWidth: 8)
        sheet.add(RFBFramebuffer(width: 1, height: 4096), at: 0)
        sheet.add(RFBFramebuffer(width: 4096, height: 1), at: 1)
        #expect(sheet.thumbnailHeight == 16)
        #expect(sheet.size.height == 8 + 16 + ContactSheet.labelHeight + 8)
    }

    @Test func aContactSheetIsAGridOfCellsWithTheirTimes() {
        var screen = RFBFramebuffer(width: 80, height: 60)
        screen.put(x: 0, y: 0, width: 80, height: 60, Array(repeating: 0xFF_0000, count: 4800))
        var sheet = ContactSheet(columns: 3, thumbnailWidth: 40)
        for k in 0..<4 { sheet.add(screen, at: UInt64(k) * 1_000_000) }
        #expect(sheet.size.width == 3 * 48 + 8)
        let cellHeight = 30 + ContactSheet.labelHeight + 8
        #expect(sheet.size.height == 2 * cellHeight + 8)
        let image = sheet.image()
        #expect(image[8 + 48 + 20, 8 + 15] == 0xFF_0000, "the second cell")
        let secondRow = 8 + cellHeight
        #expect(image[8 + 2 * 48 + 20, secondRow + 15] == 0x20_2020, "no sixth cell")
        // The label under the first cell ("0:00.0") has light pixels.
        let labelTop = 8 + 30 + 4
        var label: [UInt32] = []
        for x in 8..<48 {
            for y in labelTop..<labelTop + 14 { label.append(image[x, y]) }
        }
        #expect(label.contains(0xF0_F0F0))
    }

    @Test func aScreenOfOtherProportionsIsFittedOnBlack() {
        var wide = RFBFramebuffer(width: 100, height: 20)
        wide.put(x: 0, y: 0, width: 100, height: 20, Array(repeating: 0x00_FF00, count: 2000))
        let fitted = FrameScaler.fitted(wide, width: 50, height: 50)
        #expect(fitted.width == 50 && fitted.height == 50)
        #expect(fitted[25, 25] == 0x00_FF00)
        #expect(fitted[25, 2] == 0 && fitted[25, 47] == 0)
    }
}
