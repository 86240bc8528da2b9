import RecordRender

/// The playback's notes as warnings on stderr: the first ``limit`` in full, a count of the rest at
/// the end.
struct RenderWarnings {
    static let limit = 20
    let file: String
    let session: UInt32
    private var printed = 0

    init(file: String, session: UInt32) {
        self.file = file
        self.session = session
    }

    mutating func show(_ notes: [RenderNote], final: Bool = false) {
        while printed < min(notes.count, Self.limit) {
            let note = notes[printed]
            let text = note.timeMicros == nil ? ": \(note.text)" : " \(note)"
            Output.standardError("wsrecord-inspect: warning: \(file): session \(session)\(text)")
            printed += 1
        }
        if final, notes.count > Self.limit {
            Output.standardError("wsrecord-inspect: warning: \(file): session \(session): \(notes.count - Self.limit) more warnings")
        }
    }
}
