import Foundation
import RecordFormat
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordTools

@Suite("Cutting, joining and repairing recordings")
struct EditingTests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    @Test("durations on the command line", arguments: [
        ("10s", UInt64(10_000_000)), ("1.5", 1_500_000), ("250ms", 250_000), ("120us", 120), ("2m", 120_000_000),
        ("1h", 3_600_000_000), ("0", 0),
    ])
    func timeSpecs(text: String, micros: UInt64) {
        #expect(TimeSpec.micros(text) == micros)
    }

    @Test("bad durations are refused", arguments: ["", "abc", "-1s", "1x", "nan"])
    func badTimeSpecs(text: String) {
        #expect(TimeSpec.micros(text) == nil)
    }

    /// Two sessions with frames every 10 ms from 0 to 90 ms.
    static func timedRecords() -> [Record] {
        var records: [Record] = []
        for s in UInt32(1)...2 {
            records.append(Record(session: s, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1_764_000_000_000_000 + Int64(s), target: .hostPort("h:\(s)")))))
        }
        for i in 0..<10 {
            for s in UInt32(1)...2 {
                records.append(Record(session: s, timeMicros: UInt64(i) * 10_000, body: .frame(Frame(direction: i % 2 == 0 ? .clientToTarget : .targetToClient, opcode: .binary, payload: [UInt8(s), UInt8(i)]))))
            }
        }
        records.append(Record(session: 1, timeMicros: 95_000, body: .close(SessionClose(closedBy: .client, code: 1000))))
        return records
    }

    @Test("extract copies one session as session 1 and names its origin")
    func extract() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("two.rec").path
        let output = dir.appendingPathComponent("one.rec").path
        try writeRecording(Self.timedRecords(), to: input)
        let result = try run(inspect, ["extract", input, "--session", "2", "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        let records = try RecordSource(path: output).readAll()
        let original = Self.timedRecords().filter { $0.session == 2 }
        #expect(records.count == original.count)
        #expect(records.allSatisfy { $0.session == 1 })
        guard case .open(let open)? = records.first?.body else { Issue.record("starts with open"); return }
        #expect(open.origin == "two.rec#2")
        #expect(open.target == .hostPort("h:2"))
        #expect(zip(records.dropFirst(), original.dropFirst()).allSatisfy { $0.body == $1.body && $0.timeMicros == $1.timeMicros })
        #expect(try run(inspect, ["verify", output]).status == 0)
        #expect(try run(inspect, ["extract", input, "--session", "9", "-o", dir.appendingPathComponent("none.rec").path]).status == 2)
        #expect(try run(inspect, ["extract", input, "--session", "1", "-o", output]).status == 2, "never overwrites")
        #expect(FileManager.default.fileExists(atPath: output), "a refused run leaves an existing output alone")
        // A torn input: what was readable is extracted, and the exit status says the input was damaged.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: input))
        let torn = dir.appendingPathComponent("torn.rec").path
        try bytes.prefix(bytes.count - 70).write(to: URL(fileURLWithPath: torn))
        let fromTorn = dir.appendingPathComponent("from-torn.rec").path
        let damaged = try run(inspect, ["extract", torn, "--session", "1", "-o", fromTorn])
        #expect(damaged.status == 3, "\(damaged.stderr)")
        #expect(try run(inspect, ["verify", fromTorn]).status == 0)
        // A failure after the output was created removes it, so the name can be used again.
        let failed = dir.appendingPathComponent("failed.rec").path
        #expect(try run(inspect, ["cat", input, dir.appendingPathComponent("missing.rec").path, "-o", failed]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: failed))
    }

    @Test("slice keeps the window, each session's open record, and the close only inside the window")
    func slice() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("two.rec").path
        try writeRecording(Self.timedRecords(), to: input)
        let middle = dir.appendingPathComponent("middle.rec").path
        #expect(try run(inspect, ["slice", input, "--from", "20ms", "--to", "50ms", "-o", middle]).status == 0)
        let records = try RecordSource(path: middle).readAll()
        let frames = records.filter { if case .frame = $0.body { true } else { false } }
        #expect(frames.map(\.timeMicros) == [20_000, 20_000, 30_000, 30_000, 40_000, 40_000])
        #expect(records.filter { if case .open = $0.body { true } else { false } }.map(\.session) == [1, 2])
        #expect(!records.contains { if case .close = $0.body { true } else { false } })
        let tail = dir.appendingPathComponent("tail.rec").path
        #expect(try run(inspect, ["slice", input, "--from", "85ms", "--session", "1", "-o", tail]).status == 0)
        let tailRecords = try RecordSource(path: tail).readAll()
        #expect(tailRecords.map(\.session) == [1, 1, 1])
        #expect(tailRecords.last.map { if case .close = $0.body { true } else { false } } == true)
        #expect(try run(inspect, ["verify", middle]).status == 0)
        #expect(try run(inspect, ["slice", input, "--from", "5s", "--to", "1s", "-o", dir.appendingPathComponent("x.rec").path]).status == 2)
    }

    @Test("cat renumbers sessions in order and keeps their origins")
    func concatenate() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.rec").path
        let joined = dir.appendingPathComponent("joined.rec").path
        try writeRecording(Self.timedRecords(), to: a)
        let legacy = fixturePath("websockify-0.10-session.legacy")
        #expect(try run(inspect, ["cat", a, legacy, a, "-o", joined]).status == 0)
        let opens = try RecordSource(path: joined).readAll().compactMap { record -> (UInt32, String?)? in
            if case .open(let open) = record.body { return (record.session, open.origin) }
            return nil
        }
        #expect(opens.map(\.0) == [1, 2, 3, 4, 5])
        #expect(opens.map(\.1) == ["a.rec#1", "a.rec#2", "websockify-0.10-session.legacy#1", "a.rec#1", "a.rec#2"])
        #expect(try run(inspect, ["verify", joined]).status == 0)
    }

    @Test("repair cuts a torn tail, drops or keeps a corrupt block, rebuilds the index, and leaves the original alone")
    func repair() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("broken.rec").path
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 64
        let bytes = try writeRecording(Self.timedRecords(), to: path, configuration: configuration)
        let blocks = try decodeAll(bytes, chunk: bytes.count).blocks
        try #require(blocks.count > 8, "blocks decoded: \(blocks.count)")
        // Damage block 3's payload and tear the file inside block 8.
        var broken = bytes
        broken[Int(blocks[3].offset) + blocks[3].header.encodedLength + 2] ^= 0xFF
        broken = Array(broken.prefix(Int(blocks[8].offset) + 7))
        try Data(broken).write(to: URL(fileURLWithPath: path))
        #expect(try run(inspect, ["verify", path]).status == 3)

        let fixed = dir.appendingPathComponent("fixed.rec").path
        let result = try run(inspect, ["repair", path, "-o", fixed])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("1 corrupt blocks dropped"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(broken), "the original is untouched")
        let verify = try run(inspect, ["verify", fixed])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("index: present"))
        let expected = blocks.prefix(8).enumerated().filter { $0.offset != 3 }.reduce(0) { $0 + $1.element.header.recordCount }
        #expect(try RecordSource(path: fixed).readAll().count == expected)

        let kept = dir.appendingPathComponent("kept.rec").path
        #expect(try run(inspect, ["repair", "--keep-corrupt", path, "-o", kept]).status == 0)
        let keptVerify = try run(inspect, ["verify", kept])
        #expect(keptVerify.status == 3, "the kept block is still corrupt")
        #expect(keptVerify.stdout.contains("corrupt-block"))
        #expect(!keptVerify.stdout.contains("truncated"))

        #expect(try run(inspect, ["repair", "--in-place", path]).status == 0)
        #expect(try run(inspect, ["verify", path]).status == 0)
        #expect(try run(inspect, ["repair", path]).status == 2, "needs -o or --in-place")
    }

    @Test("dump filters by session, direction and time, and prints hex")
    func dumpFilters() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("two.rec").path
        try writeRecording(Self.timedRecords(), to: path)
        let result = try run(inspect, ["dump", "--json", "--session", "2", "--direction", "target", "--from", "30ms", "--to", "80ms", path])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3, "target frames of session 2 at 30, 50 and 70 ms")
        #expect(lines.allSatisfy { $0.contains("\"session\":2") && $0.contains("\"from\":\"target\"") })
        #expect(lines.first?.contains("\"time_us\":30000") == true)
        let hex = try run(inspect, ["dump", "--hex", "--to", "0.2", fixturePath("websockify-0.10-session.legacy")])
        #expect(hex.status == 0)
        try expectGolden(hex.stdout, "fixture-dump-hex.txt")
        #expect(try run(inspect, ["dump", "--from", "soon", path]).status == 2)
    }
}

@Suite("diff and progress on the command line")
struct DiffCLITests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    @Test("diff text and JSON output match the golden files; exit 0 same, 1 different, 2 trouble")
    func diffGolden() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.rec").path
        let b = dir.appendingPathComponent("b.rec").path
        var changed = EditingTests.timedRecords()
        // Session 2's target frame at 50 ms gets a different second byte; session 1 loses its close.
        if let i = changed.firstIndex(where: { $0.session == 2 && $0.timeMicros == 50_000 }),
            case .frame(var frame) = changed[i].body
        {
            frame.payload[1] = 0xEE
            changed[i].body = .frame(frame)
        }
        changed.removeLast()
        try writeRecording(EditingTests.timedRecords(), to: a)
        try writeRecording(changed, to: b)
        let same = try run(inspect, ["diff", a, a])
        #expect(same.status == 0)
        let different = try run(inspect, ["diff", a, b])
        #expect(different.status == 1)
        try expectGolden(different.stdout.replacingOccurrences(of: dir.path, with: "DIR"), "diff.txt")
        let json = try run(inspect, ["diff", "--json", a, b])
        #expect(json.status == 1)
        try expectGolden(json.stdout.replacingOccurrences(of: dir.path, with: "DIR"), "diff.json")
        #expect(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) is [String: Any])
        #expect(try run(inspect, ["diff", a, dir.appendingPathComponent("missing.rec").path]).status == 2)
        #expect(try run(inspect, ["diff", "--session-a", "1", a, b]).status == 2)
    }

    @Test("a progress bar is drawn on a terminal for large files, never into a pipe or with --json")
    func progressBar() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("large.rec").path
        var configuration = RecordWriterConfiguration()
        configuration.compress = false
        let writer = try RecordFileWriter(path: path, configuration: configuration)
        try writer.append(Record(session: 1, timeMicros: 0, body: .open(SessionOpen(startWallMicros: 1))))
        var rng = SystemRandomNumberGenerator()
        let payload = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for i in 0..<600 {  // ~39 MB, above the 32 MiB threshold
            try writer.append(Record(session: 1, timeMicros: UInt64(i), body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: payload))))
        }
        try writer.close()
        // `script` gives the command a terminal; its output (stdout and stderr) comes back here.
        let script = try #require(["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let onTerminal = try run(script, ["-qec", "\(inspect) dump \(path) >/dev/null", "/dev/null"])
        #expect(onTerminal.status == 0)
        #expect(onTerminal.stdout.contains("dump [") && onTerminal.stdout.contains("100%"))
        let jsonOnTerminal = try run(script, ["-qec", "\(inspect) dump --json \(path) >/dev/null", "/dev/null"])
        #expect(!jsonOnTerminal.stdout.contains("dump ["))
        let piped = try run(inspect, ["dump", path])
        #expect(!piped.stderr.contains("dump ["))
        for command in ["verify", "stats"] {
            let long = try run(script, ["-qec", "\(inspect) \(command) \(path) >/dev/null", "/dev/null"])
            #expect(long.stdout.contains("\(command) ["), "\(command) shows a progress bar on a terminal")
        }
    }
}
