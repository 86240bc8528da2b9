import ArgumentParser
import RecordFormat
import RecordTools

extension PacketSynthesizer.Side: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export sessions as a pcapng capture that Wireshark and tshark can open.",
        discussion: """
            Synthesizes IPv4/IPv6 TCP connections: the WebSocket side (client and proxy: the HTTP upgrade, \
            then every recorded frame) and the TCP side (proxy and target: the payload bytes). Addresses \
            come from the recording; unknown ones become documentation addresses (192.0.2.x, 2001:db8::x).
            """
    )

    @Argument(help: "The recording file (either format).")
    var file: String

    @Flag(help: "Write pcapng (the only export format so far).")
    var pcapng = false

    @Option(
        name: .short, help: ArgumentHelp("The capture file to create; must not exist yet.", valueName: "out.pcapng"))
    var output: String

    @Option(help: "Export only this session (default: all).")
    var session: UInt32?

    @Option(help: "Which connections: websocket, tcp or both.")
    var side: PacketSynthesizer.Side = .both

    func validate() throws {
        guard pcapng else { throw ValidationError("choose an export format: --pcapng") }
    }

    func run() throws {
        let (progress, done) = Progress.callback(label: "export", enabled: true)
        let result = try PcapngExporter.export(
            input: file, output: output, session: session, configuration: .init(side: side), progress: progress)
        done()
        for damage in result.damages {
            Output.standardError("wsrecord-inspect: warning: \(file): \(damage); exported what was readable")
        }
        for problem in result.timeProblems {
            Output.standardError("wsrecord-inspect: warning: \(problem.error(path: file))")
        }
        let sessions = result.sessions.count
        Output.standardError(
            "exported \(result.packets) packets of \(sessions) session\(sessions == 1 ? "" : "s") (\(side.rawValue)) "
                + "to \(output), \(result.bytes) bytes")
        if !result.damages.isEmpty || !result.timeProblems.isEmpty { throw ExitCode(ExitStatus.damaged) }
    }
}
