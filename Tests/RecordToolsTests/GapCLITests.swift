import Foundation
import RecordFormat
import RecordTestSupport
import Testing

@testable import RecordTools

@Suite("wsrecord-inspect on a recording with a gap")
struct GapCLITests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    /// A small deterministic recording that lost 6 frames of two sessions to a full disk.
    func gapRecording(_ path: String) throws {
        let disk = FakeDisk(size: 40_000)
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 1024
        configuration.compress = false
        let writer = try RecordFileWriter(path: path, configuration: configuration, clock: ManualClock())
        writer.system = disk.system()
        var scenario = GapScenario(writer: writer)
        scenario.open(1, start: GapScenario.start1)
        scenario.open(2, start: GapScenario.start2)
        for i in 0..<12 {
            scenario.frame(
                UInt32(1 + i % 2), i % 4 == 0 ? .clientToTarget : .targetToClient, size: 1200, at: UInt64(100_000 * i))
            if i == 5 { disk.size = 0 }  // full from here on
        }
        scenario.close(1, at: 2_000_000)
        scenario.close(2, at: 2_100_000)
        try writer.close()  // the closes fit: they free the space kept for their sessions
    }

    @Test("verify names each session's loss and exits 3; stats and dump show the gap (golden files)")
    func goldenOutputs() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("gap.rec").path
        try gapRecording(path)
        keepArtifact(path)
        func local(_ text: String) -> String { text.replacingOccurrences(of: dir.path + "/", with: "") }
        let verify = try run(inspect, ["verify", path])
        #expect(verify.status == 3)
        try expectGolden(local(verify.stdout), "gap-verify.txt")
        #expect(verify.stdout.contains("GAP 3 records / 3600 bytes of session 1 lost at "))
        let json = try run(inspect, ["verify", "--json", path])
        #expect(json.status == 3)
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutBytes) as? [String: Any])
        #expect(object["ok"] as? Bool == false)
        let gaps = try #require(object["gaps"] as? [[String: Any]])
        try #require(gaps.count == 1)
        #expect((gaps[0]["causes"] as? [String]) == ["write-failed"])

        let stats = try run(inspect, ["stats", path])
        #expect(stats.status == 3)
        #expect(stats.stderr.contains("incomplete: 6 records (7200 payload bytes) lost in 1 gap while recording"))
        try expectGolden(local(stats.stdout), "gap-stats.txt")
        let statsJSON = try run(inspect, ["stats", "--json", path])
        try expectGolden(local(statsJSON.stdout), "gap-stats.json")

        let dump = try run(inspect, ["dump", path])
        #expect(dump.status == 3)
        try expectGolden(dump.stdout, "gap-dump.txt")
        let dumpJSON = try run(inspect, ["dump", "--json", path])
        try expectGolden(dumpJSON.stdout, "gap-dump.jsonl")
        let only2 = try run(inspect, ["dump", "--json", "--session", "2", path])
        let kinds = only2.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["kind"] as? String
        }
        #expect(kinds.filter { $0 == "gap" }.count == 1, "the filter keeps session 2's entry of the gap only")
    }

    @Test("repair keeps a gap block: the repaired copy still says what was lost")
    func repairKeepsGaps() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("lost.rec").path
        let (disk, writer, start) = try GapScenario.floodSessionOne(path, diskSize: 60_000)
        var scenario = start
        disk.size = 10_000_000
        for i in 100..<110 { scenario.frame(1, .targetToClient, size: 1500, at: UInt64(i)) }
        scenario.close(1, at: 200)
        try writer.close()
        let repaired = dir.appendingPathComponent("repaired.rec").path
        _ = try RecordRepair.repair(input: path, output: repaired, keepCorrupt: false)
        let original = try RecordVerifier.verify(path: path)
        let copy = try RecordVerifier.verify(path: repaired)
        #expect(original.gaps.count == 1)
        #expect(copy.gaps == original.gaps)
        #expect(copy.records == original.records && copy.hasIndex)
        _ = try expectAccounted(repaired, scenario.appended)
    }
}
