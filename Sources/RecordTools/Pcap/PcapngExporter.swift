import RecordFormat

/// Writes a recording's sessions as a pcapng capture (`wsrecord-inspect export --pcapng`).
public enum PcapngExporter {
    public struct Result: Sendable {
        public var sessions: [UInt32]
        public var packets: Int
        public var bytes: UInt64
        public var damages: [Damage]
        /// Records whose time is out of range (one finding per session): exported at the time of
        /// their session's record before them.
        public var timeProblems: [RecordTimeline.Finding] = []
    }

    /// Exports `input` (either format) to the new file `output`, which gets the input's permission
    /// bits (a capture holds the same payloads); only `session` when given.
    public static func export(
        input: String, output: String, session: UInt32? = nil, configuration: PacketSynthesizer.Configuration = .init(),
        progress: ProgressCallback? = nil
    ) throws(RecordFormatError) -> Result {
        let source = try RecordSource(path: input)
        let file = try NewFile(path: output, mode: try NewFile.mode(madeFrom: [input]))
        do throws(RecordFormatError) {
            var buffer = Pcapng.sectionHeader(application: "wsrecord-inspect \(RecordFormatVersion.producerVersion)")
            buffer += Pcapng.interfaceDescription(linkType: Pcapng.linkTypeRaw, name: "websockify recording")
            var synthesizer = PacketSynthesizer(configuration: configuration)
            var packets = 0
            var timeline = RecordTimeline()
            while var record = try source.nextRecord() {
                if let session, record.session != session, record.session != 0 { continue }
                let placement = timeline.place(record, at: source.lastRecordLocation)
                if record.session != 0 && !placement.isOwnTime { record.timeMicros = placement.timeMicros }
                for packet in synthesizer.packets(for: record) {
                    buffer += Pcapng.enhancedPacket(
                        timestampMicros: packet.timestampMicros, data: packet.data, comment: packet.comment)
                    packets += 1
                }
                if buffer.count >= 1 << 20 {
                    progress?(source.bytesRead, source.fileSize)
                    try file.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if let session, !synthesizer.sessionsSeen.contains(session) {
                throw RecordFormatError(.invalidArgument, "no session \(session) in the recording", path: input)
            }
            try file.write(buffer)
            return Result(
                sessions: synthesizer.sessionsSeen, packets: packets, bytes: file.offset, damages: source.damages,
                timeProblems: timeline.outOfRange)
        } catch {
            file.remove()
            throw error
        }
    }
}
