import Foundation
import RecordTestSupport
import Testing

@testable import RecordFormat

@Suite("Legacy Python websockify recordings")
struct LegacyTests {
    static func fixture() throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixturePath("websockify-0.10-session.legacy"))))
    }

    @Test("the real fixture parses completely")
    func parseFixture() throws {
        let parsed = try LegacyRecording.parse(try Self.fixture())
        #expect(parsed.terminated)
        #expect(parsed.damage == nil)
        #expect(parsed.entries.count == 67)
        #expect(parsed.entries.filter { !$0.fromClient }.count == 21)
        #expect(parsed.entries.first?.payload == Array("RFB 003.008\n".utf8))
        #expect(parsed.entries.first?.timeMillis == 136)
        #expect(parsed.entries.last?.timeMillis == 2433)
        let times = parsed.entries.map(\.timeMillis)
        #expect(times == times.sorted())
    }

    @Test("rendering the parsed fixture gives back the file byte for byte")
    func renderIdentical() throws {
        let bytes = try Self.fixture()
        #expect(LegacyRecording.render(try LegacyRecording.parse(bytes).entries) == bytes)
    }

    @Test("legacy → ours → legacy keeps every payload byte and timestamp")
    func throughNative() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("from-legacy.rec").path
        let bytes = try Self.fixture()
        let parsed = try LegacyRecording.parse(bytes)
        try writeRecording(LegacyRecording.records(from: parsed, session: 1), to: path)
        let records = try RecordSource(path: path).readAll()
        #expect(LegacyRecording.entries(from: records, session: 1) == parsed.entries)
        #expect(LegacyRecording.render(LegacyRecording.entries(from: records, session: 1)) == bytes)
    }

    @Test("all 256 byte values survive escaping")
    func everyByte() throws {
        let entries = [LegacyRecording.Entry(fromClient: false, timeMillis: 7, payload: (0...255).map { UInt8($0) }),
                       LegacyRecording.Entry(fromClient: true, timeMillis: 9, payload: Array("'\\{}\"".utf8))]
        let text = LegacyRecording.render(entries)
        #expect(!text.dropLast().contains(0x0D))
        #expect(text.filter { $0 == 0x0A }.count == 4, "one line per frame plus header and terminator")
        #expect(try LegacyRecording.parse(text).entries == entries)
    }

    @Test("a file cut anywhere (a killed proxy) yields the complete lines before the cut")
    func tornFile() throws {
        let bytes = try Self.fixture()
        let full = try LegacyRecording.parse(bytes).entries
        let prefixLength = LegacyRecording.prefix.count
        var offsets = Array(stride(from: prefixLength, to: bytes.count, by: 13))
        offsets += Array((bytes.count - 300)..<bytes.count)
        for cut in offsets {
            let parsed = try LegacyRecording.parse(Array(bytes[..<cut]))
            #expect(Array(full.prefix(parsed.entries.count)) == parsed.entries, "cut at \(cut)")
            if cut < bytes.count - 8 { #expect(!parsed.terminated, "cut at \(cut)") }
        }
        // Cut inside the last frame's string: that frame is dropped and reported.
        let lastLine = bytes.count - "'EOF'];\n".count - 10
        let parsed = try LegacyRecording.parse(Array(bytes[..<lastLine]))
        #expect(parsed.entries.count == full.count - 1)
        #expect(parsed.damage?.kind == .truncated)
        // Cut right after the last frame line: every frame, no terminator.
        let noTerminator = try LegacyRecording.parse(Array(bytes[..<(bytes.count - "'EOF'];\n".count)]))
        #expect(noTerminator.entries == full)
        #expect(!noTerminator.terminated)
        #expect(noTerminator.damage == nil)
    }

    @Test("syntax errors name the file and byte offset")
    func syntaxErrors() throws {
        let bad = Array("var VNC_frame_data = [\n'{12{ok',\n'{13{bad \\q escape',\n".utf8)
        let error = #expect(throws: RecordFormatError.self) { try LegacyRecording.parse(bad, path: "x.js") }
        #expect(error?.code == .legacySyntax)
        #expect(error?.offset == 42)
        #expect(error?.description.hasPrefix("x.js: at byte 42:") == true)
        let noBrace = Array("var VNC_frame_data = [\n'12{ok',\n".utf8)
        #expect(throws: RecordFormatError.self) { try LegacyRecording.parse(noBrace) }
        #expect(throws: RecordFormatError.self) { try LegacyRecording.parse(Array("hello".utf8)) }
        let hugeTime = Array("var VNC_frame_data = [\n'{18446744073709552{x',\n".utf8)
        #expect(throws: RecordFormatError.self) { try LegacyRecording.parse(hugeTime) }
    }
}
