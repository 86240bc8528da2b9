import Foundation
import RecordFormat
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordTools

@Suite("Stats and the plot on times at the ends of the i64 range (issue 12 §3)")
struct TimeRangeStatsTests {
    @Test("peak windows and plot bins stay in bounds for any times")
    func peakAndBins() {
        let samples = [
            TrafficSample(wallMicros: .min, bytes: 1), TrafficSample(wallMicros: -1, bytes: 2),
            TrafficSample(wallMicros: .max - 1, bytes: 4), TrafficSample(wallMicros: .max, bytes: 8),
        ]
        let peak = RecordStats.peak(of: samples, windowMicros: 1_000_000)
        #expect(peak.bytes == 12)
        #expect(peak.windowStartWallMicros == Int64.max - 1)
        let plot = BandwidthPlot()
        for span in [RecordTime.latestWallMicros, Int64.max] {
            let bin = plot.binMicros(span: span)
            #expect(span / bin < Int64(plot.maximumBins))
        }
    }
}

@Suite("Every subcommand of wsrecord-inspect on times at the ends of the i64 and u64 ranges")
struct TimeRangeCLITests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    /// Runs `arguments`, requiring that the tool exited by itself (a trap is a signal).
    func run(_ arguments: [String]) throws -> ProcessResult {
        let result = try RecordTestSupport.run(inspect, arguments)
        try #require(result.exited, "wsrecord-inspect \(arguments.joined(separator: " ")) crashed: \(result.stderr.suffix(600))")
        return result
    }

    @Test("verify, dump, stats, plot, diff, convert, extract, slice, cat, repair, export", arguments: extremeTimes)
    func everySubcommand(time: UInt64) throws {
        let dir = try makeTemporaryDirectory("times\(time)")
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let path = file("t.rec")
        let bytes = try writeRecording(extremeTimeRecords(time), to: path)
        let block = try #require(try decodeAll(bytes, chunk: bytes.count).blocks.first)
        let place = "at byte \(block.offset): session 1, record 3 of the block: time \(time) µs"

        // verify: the file is not OK (exit 3), and says which record.
        let verify = try run(["verify", path])
        #expect(verify.status == 3, "\(verify.stdout)")
        #expect(verify.stdout.contains("PROBLEM \(place)"))
        #expect(verify.stdout.contains("file-level record, record 4 of the block"))
        let verifyJSON = try run(["verify", "--json", path])
        #expect(verifyJSON.status == 3)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(verifyJSON.stdout.utf8)) as? [String: Any])
        #expect(report["ok"] as? Bool == false)
        let times = try #require(report["times"] as? [[String: Any]])
        #expect(times.first?["offset"] as? Int == Int(block.offset))
        #expect(times.first?["record"] as? Int == 3)
        #expect((times.first?["time_us"] as? NSNumber)?.uint64Value == time)

        // dump prints what is in the file, as it is.
        let dump = try run(["dump", path])
        #expect(dump.status == 0)
        #expect(dump.stdout.contains(TextEncoding.seconds(micros: time)))
        #expect(dump.stdout.contains("\(time) µs s0   ·   marker"))
        let json = try run(["dump", "--json", "--payload", path])
        #expect(json.status == 0)
        let lines = json.stdout.split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines[3].contains("\"time_us\":\(time)"))
        #expect(try run(["dump", "--hex", path]).status == 0)

        // stats: every record counted, the late ones placed at the record before them; exit 3 naming the record.
        let stats = try run(["stats", path])
        #expect(stats.status == 3)
        #expect(stats.stderr.contains("\(path): \(place)"))
        #expect(stats.stdout.contains("0.002000 s"), "duration up to the last placeable record: \(stats.stdout)")
        let statsJSON = try run(["stats", "--json", path])
        #expect(statsJSON.status == 3)
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(statsJSON.stdout.utf8)) as? [String: Any])
        #expect(figures["frames"] as? Int == 3)
        let peaks = try #require(figures["peak_1s"] as? [String: [String: Any]])
        #expect(peaks["target"]?["bytes"] as? Int == 17)
        #expect(peaks["target"]?["window_start_us"] as? Int == 1_764_000_000_001_000)
        #expect((figures["time_problems"] as? [Any])?.count == 2)
        let plot = try run(["stats", "--plot", file("p.svg"), path])
        #expect(plot.status == 3)
        let svg = try String(contentsOfFile: file("p.svg"), encoding: .utf8)
        #expect(svg.hasSuffix("</svg>\n") && svg.count < 200_000)

        // diff: the same file is the same; timing against a copy with ordinary times differs.
        #expect(try run(["diff", path, path]).status == 0)
        let ordinary = file("ordinary.rec")
        try writeRecording(extremeTimeRecords(3_000), to: ordinary)
        #expect(try run(["diff", path, ordinary]).status == 0, "same bytes, no timing asked")
        let timing = try run(["diff", "--timing-tolerance", "1ms", path, ordinary])
        #expect(timing.status == 1)
        #expect(timing.stdout.contains("timing"))

        // Tools that copy records keep their times as they are.
        #expect(try run(["convert", path, file("c.rec")]).status == 0)
        #expect(try run(["dump", "--json", "--payload", file("c.rec")]).stdout == json.stdout)
        #expect(try run(["convert", path, file("c.js")]).status == 0)
        let legacy = try String(contentsOfFile: file("c.js"), encoding: .utf8)
        #expect(legacy.contains("'{\(time / 1000){world',"))
        #expect(try run(["convert", file("c.js"), file("back.rec")]).status == 0)
        #expect(try run(["verify", file("back.rec")]).status == 3)
        for (arguments, output) in [
            (["extract", path, "--session", "1", "-o", file("e.rec")], "e.rec"),
            (["slice", path, "--from", "1ms", "-o", file("s.rec")], "s.rec"),
            (["cat", path, ordinary, "-o", file("cat.rec")], "cat.rec"),
            (["repair", path, "-o", file("r.rec")], "r.rec"),
        ] {
            let result = try run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            let copied = try run(["dump", "--json", file(output)])
            #expect(copied.stdout.contains("\"time_us\":\(time)"), "\(arguments) keeps the time")
            #expect(try run(["verify", file(output)]).status == 3, "\(output) is flagged like its input")
        }
        let window = try run(["slice", path, "--from", "1ms", "--to", "3ms", "-o", file("w.rec")])
        #expect(window.status == 0)
        #expect(!(try run(["dump", "--json", file("w.rec")]).stdout.contains("\(time)")))
        #expect(try run(["verify", file("w.rec")]).status == 0)

        // export: packets of the late records get the time of the record before them.
        let export = try run(["export", "--pcapng", "-o", file("x.pcapng"), path])
        #expect(export.status == 3)
        #expect(export.stderr.contains(place))
        let stamps = try pcapngTimestamps(file("x.pcapng"))
        #expect(!stamps.isEmpty)
        #expect(stamps == stamps.sorted(), "packet times never run backwards")
        #expect(stamps.allSatisfy { $0 >= 1_764_000_000_000_000 && $0 <= 1_764_000_000_002_000 })
    }

    @Test("a legacy file with huge millisecond times, and a start time at Int64.min")
    func legacyAndStarts() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let js = dir.appendingPathComponent("huge.js").path
        // 2^63 µs and u64.max µs rounded down to whole milliseconds.
        let text = "var VNC_frame_data = [\n'{1{RFB 003.008\\n',\n'}2}hi',\n'{9223372036854776{late',\n'}18446744073709551}later',\n'EOF'];\n"
        try text.write(toFile: js, atomically: true, encoding: .utf8)
        let line = try #require(text.range(of: "'{9223372036854776{"))
        let offset = text.utf8.distance(from: text.startIndex, to: line.lowerBound)
        for arguments in [["stats", js], ["export", "--pcapng", "-o", dir.appendingPathComponent("l.pcapng").path, js]] {
            let result = try run(arguments)
            #expect(result.status == 3, "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.contains("huge.js: at byte \(offset): session 1: time 9223372036854776000 µs"),
                "\(result.stderr)")
            #expect(result.stderr.contains("(3 records of this session)"))
        }
        #expect(try run(["dump", js]).status == 0)
        let rec = dir.appendingPathComponent("huge.rec").path
        #expect(try run(["convert", js, rec]).status == 0)
        #expect(try run(["verify", rec]).status == 3)
        let back = dir.appendingPathComponent("back.js").path
        #expect(try run(["convert", rec, back]).status == 0)
        #expect(try String(contentsOfFile: back, encoding: .utf8) == text)

        // A session whose open record says it started at Int64.min (or at Int64.max).
        for start in [Int64.min, Int64.max] {
            let path = dir.appendingPathComponent("start\(start).rec").path
            let open = SessionOpen(startWallMicros: start, target: .hostPort("127.0.0.1:5900"))
            try writeRecording(
                [
                    Record(session: 1, timeMicros: 0, body: .open(open)),
                    Record(session: 1, timeMicros: 10, body: .frame(Frame(direction: .targetToClient, opcode: .binary, payload: [1]))),
                ], to: path)
            let verify = try run(["verify", path])
            #expect(verify.status == 3)
            #expect(verify.stdout.contains("start time \(start) µs since 1970 is outside"))
            #expect(try run(["dump", path]).status == 0)
            #expect(try run(["dump", "--json", path]).stdout.contains("\"start_wall_us\":\(start)"))
            #expect(try run(["stats", "--plot", dir.appendingPathComponent("s\(start).svg").path, path]).status == 3)
            #expect(try run(["export", "--pcapng", "-o", dir.appendingPathComponent("s\(start).pcapng").path, path]).status == 3)
        }
    }

    @Test("verify warns about times that run backwards, and still exits 0")
    func backwards() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("back.rec").path
        var records = extremeTimeRecords(5_000_000)
        records.removeAll { $0.session == 0 }
        records[3].timeMicros = 1_500
        records[4].timeMicros = 1_000
        try writeRecording(records, to: path)
        let verify = try run(["verify", path])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("WARNING at byte"))
        #expect(verify.stdout.contains("session 1, record 3 of the block: time runs backwards: 0.001500 s after 0.002000 s (2 records of this session)"))
        #expect(verify.stdout.contains("\nOK\n"))
        let json = try run(["verify", "--json", path])
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"problem\":\"backwards\""))
        #expect(try run(["stats", path]).status == 0)

        // A record after its session's close record lies beyond the session's span: a warning too.
        let late = dir.appendingPathComponent("late.rec").path
        records = extremeTimeRecords(5_000).filter { $0.session != 0 }
        records.swapAt(3, 4)
        try writeRecording(records, to: late)
        let after = try run(["verify", late])
        #expect(after.status == 0, "\(after.stdout)")
        #expect(after.stdout.contains("record 4 of the block: a record at 0.005000 s comes after the session's close record (at 0.005000 s)"))
    }
}

/// The timestamps (µs) of every Enhanced Packet Block of a pcapng file we wrote (little-endian).
func pcapngTimestamps(_ path: String) throws -> [UInt64] {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    func u32(_ at: Int) -> UInt32 { data[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    var stamps: [UInt64] = []
    var offset = 0
    while offset + 12 <= data.count {
        let type = u32(offset)
        let length = Int(u32(offset + 4))
        guard length >= 12, offset + length <= data.count else { throw TestFailure("bad pcapng block at \(offset)") }
        if type == 6 { stamps.append(UInt64(u32(offset + 12)) << 32 | UInt64(u32(offset + 16))) }
        offset += length
    }
    return stamps
}
