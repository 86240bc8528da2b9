import Foundation
import RecordFormat
import RecordTestSupport
import Testing

@testable import RecordTools

/// Compares `actual` with the golden file `name`; `UPDATE_GOLDEN=1` rewrites it on purpose.
func expectGolden(_ actual: String, _ name: String, file: StaticString = #filePath) throws {
    let url = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
    if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(actual == expected, "output differs from Golden/\(name); rerun with UPDATE_GOLDEN=1 if intended")
}

@Suite("wsrecord-inspect command line")
struct InspectCLITests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    @Test("dump of the legacy fixture matches the golden text")
    func dumpLegacyText() throws {
        let result = try run(inspect, ["dump", fixturePath("websockify-0.10-session.legacy")])
        #expect(result.status == 0)
        try expectGolden(result.stdout, "fixture-dump.txt")
    }

    @Test("dump --json --payload of every record kind matches the golden JSON lines")
    func dumpJSON() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("kinds.rec").path
        try writeRecording(sampleRecords(), to: path)
        let result = try run(inspect, ["dump", "--json", "--payload", path])
        #expect(result.status == 0)
        try expectGolden(result.stdout, "kinds-dump.jsonl")
        let text = try run(inspect, ["dump", path])
        try expectGolden(text.stdout, "kinds-dump.txt")
        // Every line is JSON with the documented keys.
        for line in result.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["session", "time_us", "kind", "length"] { #expect(object[key] != nil, "\(key) in \(line)") }
            let kind = object["kind"] as? String ?? ""
            #expect(["open", "data", "ping", "pong", "close", "marker"].contains(kind))
            if kind == "data" || kind == "ping" || kind == "pong" {
                #expect(["client", "target"].contains(object["from"] as? String ?? ""))
                #expect(object["payload_b64"] != nil)
            }
        }
    }

    @Test("verify: 0 when clean, 3 with a torn tail (offset and readable records named), 2 when unreadable")
    func verifyExitCodes() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v.rec").path
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 64
        let bytes = try writeRecording(sampleRecords(), to: path, configuration: configuration)
        let clean = try run(inspect, ["verify", path])
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("OK"))

        let torn = dir.appendingPathComponent("torn.rec").path
        let decoded = try decodeAll(bytes, chunk: bytes.count)
        try #require(decoded.blocks.count > 4, "blocks decoded: \(decoded.blocks.count)")
        let cutBlock = decoded.blocks[4]
        try Data(bytes.prefix(Int(cutBlock.offset) + 10)).write(to: URL(fileURLWithPath: torn))
        let damaged = try run(inspect, ["verify", torn])
        #expect(damaged.status == 3)
        #expect(damaged.stdout.contains("truncated at byte \(cutBlock.offset)"))
        let readable = decoded.blocks.prefix(4).reduce(0) { $0 + $1.header.recordCount }
        #expect(damaged.stdout.contains("\(readable) records are still readable"))

        let dump = try run(inspect, ["dump", "--json", torn])
        #expect(dump.status == 3)
        #expect(dump.stdout.split(separator: "\n").count == readable)
        #expect(dump.stderr.contains("byte \(cutBlock.offset)"))

        let flipped = dir.appendingPathComponent("flipped.rec").path
        var corrupt = bytes
        corrupt[Int(decoded.blocks[2].offset) + decoded.blocks[2].header.encodedLength + 1] ^= 1
        try Data(corrupt).write(to: URL(fileURLWithPath: flipped))
        let crc = try run(inspect, ["verify", flipped])
        #expect(crc.status == 3)
        #expect(crc.stdout.contains("corrupt-block at byte \(decoded.blocks[2].offset)"))

        let missing = try run(inspect, ["verify", dir.appendingPathComponent("nope.rec").path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.rec"))
        let usage = try run(inspect, ["verify"])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("Usage"))
        let unknown = try run(inspect, ["frobnicate"])
        #expect(unknown.status == 2)
    }

    @Test("convert: legacy → ours → legacy is identical; a .js name selects the legacy format")
    func convertRoundTrip() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rec = dir.appendingPathComponent("s.rec").path
        let js = dir.appendingPathComponent("s.js").path
        let other = dir.appendingPathComponent("s2.legacy").path
        let fixture = fixturePath("websockify-0.10-session.legacy")
        #expect(try run(inspect, ["convert", fixture, rec]).status == 0)
        #expect(try run(inspect, ["verify", rec]).status == 0)
        #expect(try run(inspect, ["convert", rec, js]).status == 0)
        #expect(try run(inspect, ["convert", "--to", "websockify", rec, other]).status == 0)
        let original = try Data(contentsOf: URL(fileURLWithPath: fixture))
        #expect(try Data(contentsOf: URL(fileURLWithPath: js)) == original)
        #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == original)
        let again = try run(inspect, ["convert", fixture, rec])
        #expect(again.status == 2, "never overwrites an existing output")
        // A multi-session recording needs --session for the legacy format.
        let multi = dir.appendingPathComponent("multi.rec").path
        try writeRecording(sampleRecords(), to: multi)
        let refused = try run(inspect, ["convert", multi, dir.appendingPathComponent("m.js").path])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--session"))
        #expect(try run(inspect, ["convert", "--session", "2", multi, dir.appendingPathComponent("m.js").path]).status == 0)
    }
}

@Suite("Readers never crash on bad input")
struct BadInputTests {
    @Test("mangled recordings and random files get exit 0, 2 or 3 and a message, never a crash")
    func mangledFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inspect = try builtExecutable("wsrecord-inspect")
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 128
        let good = try writeRecording(sampleRecords(), to: dir.appendingPathComponent("good.rec").path, configuration: configuration)
        let legacy = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixturePath("websockify-0.10-session.legacy"))))
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<60 {
            var bytes: [UInt8]
            switch trial % 3 {
            case 0:
                bytes = trial % 2 == 0 ? good : legacy
                for _ in 0..<Int.random(in: 1...20, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1:
                bytes = Array((trial % 2 == 0 ? good : legacy).prefix(Int.random(in: 0...good.count, using: &rng)))
                bytes += (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            default:
                bytes = (0..<Int.random(in: 0...2000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            let path = dir.appendingPathComponent("m\(trial).rec").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            for command in [["verify", path], ["dump", "--json", path]] {
                let result = try run(inspect, command)
                #expect(result.exited && [0, 2, 3].contains(result.status), "\(command) on trial \(trial): status \(result.status)")
                if result.status != 0 { #expect(result.stderr.contains(path) || result.stdout.contains(path) || result.stderr.contains("m\(trial).rec")) }
            }
        }
    }
}
