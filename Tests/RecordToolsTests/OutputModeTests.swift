import Foundation
import RecordTestSupport
import Testing

/// Runs `executable` through `sh -c 'umask MASK; exec …'`, so that it creates files as a user with
/// that umask would (the test process's own umask is left alone).
func run(umask mask: String, _ executable: String, _ arguments: [String]) throws -> ProcessResult {
    try run("/bin/sh", ["-c", "umask \(mask) && exec \"$0\" \"$@\"", executable] + arguments)
}

@Suite("Tool outputs are as private as their inputs (issue 12 §7)")
struct OutputModeTests {
    @Test("extract, slice, cat, repair, convert, export and stats --plot give their outputs the input's mode under umask 022")
    func toolOutputs() throws {
        let inspect = try builtExecutable("wsrecord-inspect")
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let input = file("in.rec")
        let other = file("other.rec")
        try writeRecording(sampleRecords(), to: input)
        try writeRecording(sampleRecords(), to: other)
        let legacy = file("in.js")
        try FileManager.default.copyItem(atPath: fixturePath("websockify-0.10-session.legacy"), toPath: legacy)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: input)
        try FileManager.default.setAttributes([.posixPermissions: 0o604], ofItemAtPath: other)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: legacy)
        let cases: [([String], String, Int)] = [
            (["extract", input, "--session", "1", "-o", file("e.rec")], "e.rec", 0o640),
            (["slice", input, "--from", "0", "-o", file("s.rec")], "s.rec", 0o640),
            (["cat", input, other, "-o", file("c.rec")], "c.rec", 0o600),  // the bits both inputs have
            (["cat", other, "-o", file("c1.rec")], "c1.rec", 0o604),
            (["repair", input, "-o", file("r.rec")], "r.rec", 0o640),
            (["convert", input, file("n.rec")], "n.rec", 0o640),
            (["convert", "--session", "1", input, file("l.js")], "l.js", 0o640),
            (["convert", legacy, file("from-legacy.rec")], "from-legacy.rec", 0o600),
            (["export", "--pcapng", "-o", file("x.pcapng"), input], "x.pcapng", 0o640),
            (["stats", "--plot", file("p.svg"), input], "p.svg", 0o640),
        ]
        for (arguments, output, mode) in cases {
            let result = try run(umask: "022", inspect, arguments)
            #expect(result.exited && result.status == 0, "\(arguments): \(result.stderr)")
            #expect(try permissions(file(output)) == mode, "\(output) of \(arguments[0])")
        }
        // The input's mode is set exactly: a stricter umask does not narrow it either.
        #expect(try run(umask: "077", inspect, ["extract", input, "--session", "2", "-o", file("e2.rec")]).status == 0)
        #expect(try permissions(file("e2.rec")) == 0o640)
        // repair --in-place keeps the original's mode (its copy replaces it by a rename).
        #expect(try run(umask: "022", inspect, ["repair", "--in-place", input]).status == 0)
        #expect(try permissions(input) == 0o640)
    }
}
