import Foundation
import RecordFormat
import RecordTestSupport
import Testing

@testable import RecordTools

#if canImport(FoundationXML)
    import FoundationXML
#endif

@Suite("stats: per-session figures, compression, peak throughput")
struct StatsTests {
    private func stats(_ records: [Record]) -> RecordStats {
        var accumulator = RecordStatsAccumulator(path: "kinds.rec", format: .native)
        for record in records { accumulator.add(record) }
        return accumulator.finish(fileBytes: 1000, damages: [])
    }

    @Test("sessions, totals per direction, durations, close and markers come from the records")
    func figures() throws {
        let stats = stats(sampleRecords())
        #expect(stats.records == 13)
        #expect(stats.frames == 8)
        #expect(stats.payloadBytes == 38)
        try #require(stats.sessions.map(\.session) == [1, 2])
        let one = stats.sessions[0]
        #expect(one.clientToTarget == DirectionTotals(frames: 4, bytes: 20))
        #expect(one.targetToClient == DirectionTotals(frames: 1, bytes: 12))
        #expect(one.durationMicros == 41)
        #expect(one.close?.closedBy == .client)
        #expect(one.close?.code == 1000)
        #expect(one.open?.target == .hostPort("[::1]:5900"))
        let two = stats.sessions[1]
        #expect(two.clientToTarget == DirectionTotals(frames: 1, bytes: 3))
        #expect(two.targetToClient == DirectionTotals(frames: 2, bytes: 3))
        #expect(two.durationMicros == 100)
        #expect(two.startWallMicros == 1_764_000_000_500_000)
        #expect(stats.markers == [MarkerStats(wallMicros: 1_764_000_001_000_000, text: "operator note: ✓ checkpoint")])
        // Everything falls into one second: the peak is each direction's total.
        #expect(stats.peak(.clientToTarget) == PeakThroughput(bytes: 23, windowStartWallMicros: 1_764_000_000_000_020))
        #expect(stats.peak(.targetToClient) == PeakThroughput(bytes: 15, windowStartWallMicros: 1_764_000_000_000_010))
        #expect(stats.fileToPayloadPermille == 26_316)
    }

    @Test("the peak is the busiest window [t, t + 1 s) starting at a sample")
    func peakWindow() {
        let samples = [(0, 100), (999_999, 50), (1_000_000, 70), (1_500_000, 10), (1_999_999, 75), (2_999_999, 1)]
            .map { TrafficSample(wallMicros: Int64($0.0), bytes: $0.1) }
        #expect(
            RecordStats.peak(of: samples, windowMicros: 1_000_000)
                == PeakThroughput(bytes: 155, windowStartWallMicros: 1_000_000))
        #expect(RecordStats.peak(of: Array(samples.prefix(2)), windowMicros: 1_000_000).bytes == 150)
        #expect(RecordStats.peak(of: [], windowMicros: 1_000_000) == PeakThroughput())
    }

    @Test("samples of interleaved sessions are put in time order")
    func interleavedSessionsSorted() {
        let stats = stats(busyRecords().reversed())
        for direction in Direction.allCases {
            let times = stats.traffic(direction).map(\.wallMicros)
            #expect(times == times.sorted())
        }
        #expect(stats.sessions.map(\.session) == [1, 2, 3])
        #expect(stats.sessions.dropFirst(2).first.map { $0.close == nil } == true)
    }

    @Test("block counts and sizes come from the block headers")
    func blockFigures() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("busy.rec").path
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 256 << 10
        let bytes = try writeRecording(busyRecords(), to: path, configuration: configuration)
        let stats = try RecordStats.compute(path: path)
        let blocks = try #require(stats.blocks)
        let decoded = try decodeAll(bytes, chunk: bytes.count).blocks
        #expect(blocks.blocks == decoded.count)
        #expect(blocks.deflatedBlocks == decoded.filter { $0.header.codec == .deflate }.count)
        #expect(blocks.deflatedBlocks > 0 && blocks.storedBlocks > 0)
        #expect(blocks.rawBytes == decoded.reduce(0) { $0 + UInt64($1.header.rawLength) })
        #expect(blocks.storedBytes == decoded.reduce(0) { $0 + UInt64($1.header.storedLength) })
        #expect(stats.fileBytes == UInt64(bytes.count))
        #expect(stats.records == busyRecords().count)
    }
}

@Suite("stats --plot draws an SVG")
struct BandwidthPlotTests {
    /// Parses `svg` with Foundation's XMLParser; returns the elements' names and attributes.
    private func parse(_ svg: String) throws -> [(name: String, attributes: [String: String], text: String)] {
        final class Collector: NSObject, XMLParserDelegate {
            var elements: [(name: String, attributes: [String: String], text: String)] = []
            var stack: [Int] = []
            func parser(
                _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]
            ) {
                stack.append(elements.count)
                elements.append((name, attributes, ""))
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) {
                if let last = stack.last { elements[last].text += string }
            }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?)
            {
                stack.removeLast()
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        let ok = parser.parse()
        #expect(
            ok, "SVG is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)")
        return collector.elements
    }

    @Test("the plot is well-formed XML with one line per direction, session lines, markers, axes and a legend")
    func wellFormed() throws {
        var accumulator = RecordStatsAccumulator(path: "busy.rec", format: .native)
        for record in busyRecords() { accumulator.add(record) }
        let stats = accumulator.finish(fileBytes: 0, damages: [])
        let svg = BandwidthPlot().svg(stats, title: "Bandwidth of busy.rec <&>")
        let elements = try parse(svg)
        #expect(elements.first?.name == "svg")
        let paths = elements.filter { $0.name == "path" }
        for sender in ["client", "target"] {
            let line = paths.filter { $0.attributes["id"] == "traffic-\(sender)" }
            #expect(line.count == 1, "one line for \(sender)")
            #expect((line.first?.attributes["d"]?.count ?? 0) > 100)
        }
        #expect(elements.filter { $0.name == "g" && $0.attributes["class"] == "session-start" }.count == 3)
        #expect(
            elements.filter { $0.name == "g" && $0.attributes["class"] == "session-end" }.count == 2,
            "session 3 never closed")
        #expect(elements.filter { $0.name == "g" && $0.attributes["class"] == "marker" }.count == 2)
        let texts = elements.filter { $0.name == "text" }.map(\.text)
        for label in [
            "▶1", "▶2", "▶3", "1◀", "2◀", "client → target", "target → client", "wall-clock time (UTC)",
            "Bandwidth of busy.rec <&>",
        ] {
            #expect(texts.contains(label), "text \(label)")
        }
        #expect(texts.contains { $0.hasPrefix("bandwidth (") && $0.hasSuffix("B/s)") })
        #expect(texts.contains("operator: reboot of vm:99 requested"))
        #expect(texts.contains("16:00:00") && texts.contains("16:01:30"), "wall-clock tick labels")

        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("busy.svg")
        try svg.write(to: file, atomically: true, encoding: .utf8)
        keepArtifact(file.path)
    }

    @Test("1 s bins when they fit; shorter on short recordings, longer on long ones")
    func binLengths() {
        let plot = BandwidthPlot()
        #expect(plot.binMicros(span: 95_000_000) == 1_000_000)
        #expect(plot.binMicros(span: 900_000_000) == 1_000_000)
        #expect(plot.binMicros(span: 2_433_000) == 20_000)
        #expect(plot.binMicros(span: 3_600_000_000) == 5_000_000)
        #expect(plot.binMicros(span: 0) == 1_000)
    }

    @Test("stats --plot on the legacy fixture writes a well-formed SVG and refuses to overwrite it")
    func plotFromCommandLine() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inspect = try builtExecutable("wsrecord-inspect")
        let svg = dir.appendingPathComponent("legacy.svg").path
        let result = try run(inspect, ["stats", "--plot", svg, fixturePath("websockify-0.10-session.legacy")])
        #expect(result.status == 0, "\(result.stderr)")
        let elements = try parse(try String(contentsOfFile: svg, encoding: .utf8))
        #expect(elements.filter { $0.name == "path" && ($0.attributes["id"] ?? "").hasPrefix("traffic-") }.count == 2)
        #expect(elements.contains { $0.name == "text" && $0.text.hasPrefix("time since the session start") })
        keepArtifact(svg)
        let again = try run(inspect, ["stats", "--plot", svg, fixturePath("websockify-0.10-session.legacy")])
        #expect(again.status == 2)
        #expect(again.stderr.contains("exists"))
    }
}

@Suite("wsrecord-inspect stats")
struct StatsCLITests {
    let inspect: String
    init() throws { inspect = try builtExecutable("wsrecord-inspect") }

    @Test("text and JSON of every record kind match the golden files")
    func golden() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("kinds.rec").path
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 128
        try writeRecording(sampleRecords(), to: path, configuration: configuration)
        let text = try run(inspect, ["stats", path])
        #expect(text.status == 0)
        try expectGolden(text.stdout.replacingOccurrences(of: dir.path + "/", with: ""), "kinds-stats.txt")
        let json = try run(inspect, ["stats", "--json", path])
        #expect(json.status == 0)
        try expectGolden(json.stdout.replacingOccurrences(of: dir.path + "/", with: ""), "kinds-stats.json")

        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutBytes) as? [String: Any])
        for key in [
            "file", "format", "file_bytes", "records", "frames", "payload_bytes", "file_to_payload", "blocks",
            "peak_1s", "sessions", "markers", "damage",
        ] {
            #expect(object[key] != nil, "key \(key)")
        }
        let sessions = try #require(object["sessions"] as? [[String: Any]])
        try #require(sessions.count == 2)
        #expect(sessions[0]["closed_by"] as? String == "client")
        #expect(sessions[0]["close_code"] as? Int == 1000)
        #expect(sessions[0]["client_bytes"] as? Int == 20)
        #expect(sessions[1]["close_code"] is NSNull)
        let blocks = try #require(object["blocks"] as? [String: Any])
        #expect((blocks["stored"] as? Int ?? 0) + (blocks["deflated"] as? Int ?? 0) == blocks["total"] as? Int)
    }

    @Test("the legacy fixture: one session of unknown start, figures match the golden text")
    func legacyFixture() throws {
        let fixture = fixturePath("websockify-0.10-session.legacy")
        let result = try run(inspect, ["stats", fixture])
        #expect(result.status == 0)
        try expectGolden(
            result.stdout.replacingOccurrences(of: fixture, with: "websockify-0.10-session.legacy"), "fixture-stats.txt"
        )
        let json = try run(inspect, ["stats", "--json", fixture])
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutBytes) as? [String: Any])
        #expect(object["blocks"] is NSNull)
        #expect(object["payload_bytes"] as? Int == 3511)
        let session = try #require((object["sessions"] as? [[String: Any]])?.first)
        #expect(session["start"] is NSNull)
        #expect(session["client_frames"] as? Int == 46)
        #expect(session["target_bytes"] as? Int == 3037)
    }

    @Test("a torn file: figures for the readable records, damage on stderr, exit 3")
    func tornFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("torn.rec").path
        var configuration = RecordWriterConfiguration()
        configuration.blockSizeBound = 64
        let bytes = try writeRecording(
            sampleRecords(), to: dir.appendingPathComponent("whole.rec").path, configuration: configuration)
        let blocks = try decodeAll(bytes, chunk: bytes.count).blocks
        try #require(blocks.count > 4, "blocks decoded: \(blocks.count)")
        try Data(bytes.prefix(Int(blocks[4].offset) + 10)).write(to: URL(fileURLWithPath: path))
        let result = try run(inspect, ["stats", "--json", path])
        #expect(result.status == 3)
        #expect(result.stderr.contains("truncated at byte \(blocks[4].offset)"))
        let object = try #require(try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [String: Any])
        #expect(object["records"] as? Int == blocks.prefix(4).reduce(0) { $0 + $1.header.recordCount })
        #expect((object["damage"] as? [Any])?.count == 1)
    }
}
