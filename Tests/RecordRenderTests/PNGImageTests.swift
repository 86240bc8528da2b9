import Foundation
import RFBDecoding
import RecordRender
import TestSupport
import Testing

@Suite struct PNGImageTests {
    /// A 37×23 image with every pixel different (odd sizes: no row padding hides a stride bug).
    static func gradient(width: Int = 37, height: Int = 23) -> RFBFramebuffer {
        var image = RFBFramebuffer(width: width, height: height)
        var pixels: [UInt32] = []
        for y in 0..<height {
            for x in 0..<width { pixels.append(UInt32(x * 7 % 256) << 16 | UInt32(y * 11 % 256) << 8 | UInt32((x + y) * 3 % 256)) }
        }
        image.put(x: 0, y: 0, width: width, height: height, pixels)
        return image
    }

    @Test func encodedPNGDecodesToTheSamePixels() throws {
        let image = Self.gradient()
        let png = try PNGImage.encode(image)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let back = try PNGImage.decode(png)
        #expect(back == image)
    }

    @Test func theFileIsWrittenWholeAndNamedOnlyWhenDone() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("frame.png").path
        try PNGImage.write(Self.gradient(width: 5, height: 3), to: path, mode: 0o644)
        let back = try PNGImage.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(back == Self.gradient(width: 5, height: 3))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["frame.png"], "no temporary file is left")
    }

    @Test func aFileThatIsNotAPNGIsRefusedWithLibpngsReason() throws {
        #expect(throws: RenderError.self) { try PNGImage.decode(Array("P6\n1 1\n255\n\u{0}\u{0}\u{0}".utf8)) }
        let png = try PNGImage.encode(Self.gradient())
        #expect(throws: RenderError.self) { try PNGImage.decode(Array(png.prefix(png.count / 2))) }
    }

    @Test func anEmptyImageIsRefused() {
        #expect(throws: RenderError.self) { try PNGImage.encode(RFBFramebuffer(width: 0, height: 10)) }
    }
}
