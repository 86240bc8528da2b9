import RecordFormat

/// `LegacyRecording` (RecordFormat/Legacy): Python websockify's `--record` files
/// (`var VNC_frame_data = ['{MS{base64', …, 'EOF'];`).
///
/// Invariants: the file cut anywhere after its first line still parses, to a prefix of the entries
/// (the format is read from files a killed proxy left); entries rendered again parse to themselves;
/// entries turned into records and back are the same entries.
enum LegacyRecordingTarget {
    static let target = FuzzTarget(
        name: "legacy-recording",
        summary: "LegacyRecording.parse: any cut parses to a prefix, render/parse and records round trips"
    ) { run($0) }

    static let start = Array("var VNC_frame_data = [".utf8)

    static func run(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let seed = input.byte()
        var data = input.rest
        // Mostly inputs that start like the format, or nothing past the first check is reached.
        if seed & 1 == 0, !LegacyRecording.looksLegacy(data) { data = start + data }
        guard let parsed = try? LegacyRecording.parse(data) else { return }
        FuzzCheck.require(parsed.entries.count == parsed.entryOffsets.count, "an offset per entry")
        let cut = start.count + Int(seed) * (data.count - start.count) / 255
        do {
            let prefix = try LegacyRecording.parse(Array(data[..<cut]))
            FuzzCheck.require(
                prefix.entries.count <= parsed.entries.count && prefix.entries == Array(parsed.entries.prefix(prefix.entries.count)),
                "cut at \(cut), the entries are not a prefix of the file's")
        } catch {
            FuzzCheck.require(false, "the file cut at \(cut) of \(data.count) does not parse: \(error)")
        }
        let rendered = LegacyRecording.render(parsed.entries)
        do {
            let again = try LegacyRecording.parse(rendered)
            FuzzCheck.require(again.entries == parsed.entries, "rendered entries parse differently")
            FuzzCheck.require(again.terminated && again.damage == nil, "a rendered file is not terminated")
        } catch {
            FuzzCheck.require(false, "rendered entries do not parse: \(error)")
        }
        let records = LegacyRecording.records(from: parsed, session: 1)
        FuzzCheck.require(LegacyRecording.entries(from: records, session: 1) == parsed.entries, "entries → records → entries differ")
    }
}
