import Foundation
import RFB
import Testing

@Suite("keysym and encoding names")
struct RFBNameTests {
    @Test("keysyms: printable as 'o', keys by their X11 name, Unicode keysyms as U+XXXX")
    func keysyms() {
        #expect(RFBKeysym(0x6F).description == "'o' (0x6f)")
        #expect(RFBKeysym(0x41).description == "'A' (0x41)")
        #expect(RFBKeysym(0x20).description == "' ' (0x20)")
        #expect(RFBKeysym(0xE9).description == "'é' (0xe9)")
        #expect(RFBKeysym(0xA0).description == "nobreakspace (0xa0)")
        #expect(RFBKeysym(0xFF0D).description == "Return (0xff0d)")
        #expect(RFBKeysym(0xFFE1).description == "Shift_L (0xffe1)")
        #expect(RFBKeysym(0xFFC2).description == "F5 (0xffc2)")
        #expect(RFBKeysym(0xFF08).description == "BackSpace (0xff08)")
        #expect(RFBKeysym(0xFF7E).name == "Mode_switch", "the first of several names for a value")
        #expect(RFBKeysym(0x6C1).description == "Cyrillic_a 'а' (0x6c1)")
        #expect(RFBKeysym(0x20AC).description == "EuroSign '€' (0x20ac)")
        #expect(RFBKeysym(0x0100_20AC).description == "U+20AC '€' (0x10020ac)")
        #expect(RFBKeysym(0x0100_20AC).name == "U20AC")
        #expect(RFBKeysym(0x0100_0587).description == "Armenian_ligature_ew 'և' (0x1000587)", "a named Unicode keysym")
        #expect(RFBKeysym(0x1234_5678).description == "keysym 0x12345678")
        #expect(RFBKeysym(0x1234_5678).name == nil)
    }

    @Test("encodings: names from the RFB specification, levels by number")
    func encodings() {
        let expected: [(Int32, String)] = [
            (0, "Raw"), (1, "CopyRect"), (2, "RRE"), (5, "Hextile"), (15, "TRLE"), (16, "ZRLE"), (7, "Tight"),
            (-260, "TightPNG"), (21, "JPEG"), (50, "H.264"), (-223, "DesktopSize"), (-308, "ExtendedDesktopSize"),
            (-224, "LastRect"), (-239, "Cursor"), (-240, "XCursor"), (-258, "QEMUExtendedKeyEvent"),
            (-259, "QEMUAudio"),
            (-261, "QEMULEDState"), (Int32(bitPattern: 0xC0A1_E5CE), "ExtendedClipboard"), (-312, "Fence"),
            (-313, "ContinuousUpdates"), (-307, "DesktopName"), (-309, "xvp"), (-316, "ExtendedMouseButtons"),
            (-256, "CompressLevel 0"), (-247, "CompressLevel 9"), (-32, "QualityLevel 0"), (-23, "QualityLevel 9"),
            (-512, "JPEGQuality 0"), (-412, "JPEGQuality 100"), (-768, "JPEGSubsampling 1X"),
            (-763, "JPEGSubsampling 16X"),
            (0x574D_5664, "VMwareCursor"), (0x574D_5666, "VMware(0x574d5666)"), (12345, "unknown(12345)"),
        ]
        for (number, name) in expected { #expect(RFBEncoding(number).description == name, "\(number)") }
        #expect(
            RFBEncoding.desktopSize.isPseudo && RFBEncoding.extendedClipboard.isPseudo
                && RFBEncoding.vmwareCursor.isPseudo)
        #expect(!RFBEncoding.tightPNG.isPseudo && !RFBEncoding.raw.isPseudo)
        #expect(RFBSecurityType(rawValue: 2).description == "VNCAuth (2)")
        #expect(RFBSecurityType(rawValue: 99).description == "type 99")
    }

    @Test("the checked-in keysym table is what scripts/gen-keysyms makes from keysymdef.h")
    func generatedTableIsCurrent() throws {
        let root = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let header = "/usr/include/X11/keysymdef.h"
        try #require(
            FileManager.default.fileExists(atPath: header),
            "\(header) is missing: install x11proto-dev (scripts/install-deps does)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/gen-keysyms").path, "--stdout"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let checkedIn = try Data(contentsOf: root.appendingPathComponent("Sources/RFB/Messages/RFBKeysymTable.swift"))
        #expect(output == checkedIn, "Sources/RFB/Messages/RFBKeysymTable.swift is stale: run scripts/gen-keysyms")
        #expect(output.count > 40_000, "about 2000 keysyms")
    }
}
