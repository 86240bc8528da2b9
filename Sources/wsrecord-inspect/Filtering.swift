import ArgumentParser
import RecordFormat
import RecordTools

/// The options that pick records: `--session`, `--direction`, `--from`, `--to`.
struct FilterOptions: ParsableArguments {
    @Option(help: "Only this session.")
    var session: UInt32?

    @Option(help: "Only frames sent by this side: client or target.")
    var direction: Side?

    @Option(help: "From this time since each session's start (e.g. 10s, 250ms, 1.5).")
    var from: String?

    @Option(help: "Up to (not including) this time since each session's start.")
    var to: String?

    enum Side: String, ExpressibleByArgument, CaseIterable {
        case client, target
    }

    func filter() throws -> RecordFilter {
        var filter = try Self.window(from: from, to: to)
        filter.session = session
        filter.direction = direction.map { $0 == .client ? .clientToTarget : .targetToClient }
        return filter
    }

    /// A filter for the time window `--from`/`--to`, checked.
    static func window(from: String?, to: String?) throws -> RecordFilter {
        func parse(_ text: String?, _ name: String) throws -> UInt64? {
            guard let text else { return nil }
            guard let micros = TimeSpec.micros(text) else {
                throw ValidationError("\(name) \(text): expected a duration such as 10s, 250ms or 1.5")
            }
            return micros
        }
        let filter = RecordFilter(fromMicros: try parse(from, "--from"), toMicros: try parse(to, "--to"))
        if let from = filter.fromMicros, let to = filter.toMicros, to <= from {
            throw ValidationError("--to must be after --from")
        }
        return filter
    }
}
