import Logging

extension LogHandler {
    /// This handler's metadata merged with the event's (the event wins), as `key=value` sorted by key.
    func metadataPairs(of event: LogEvent) -> [String] {
        metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }
    }
}
