import RecordFormat

/// What `wsrecord-inspect stats` reports about one session.
public struct SessionStats: Sendable, Equatable {
    public var session: UInt32
    /// The session's open record; nil when it was lost (e.g. in a corrupt block).
    public var open: SessionOpen?
    /// The session's close record; nil while the session was still open when the file ended.
    public var close: SessionClose?
    /// Time of the earliest and latest record of the session (µs since the session start), as
    /// placed by ``RecordTimeline`` (a record out of range counts at the time of the one before it).
    public var firstTimeMicros: UInt64
    public var lastTimeMicros: UInt64
    /// Frames and payload bytes counted from the recorded frames (control frames included).
    public var clientToTarget = DirectionTotals()
    public var targetToClient = DirectionTotals()

    public init(session: UInt32, firstTimeMicros: UInt64) {
        self.session = session
        self.firstTimeMicros = firstTimeMicros
        self.lastTimeMicros = firstTimeMicros
    }

    /// Wall-clock start (µs since the Unix epoch); 0 when unknown (legacy imports, lost open record).
    public var startWallMicros: Int64 { open?.startWallMicros ?? 0 }
    /// From the first to the last record of the session.
    public var durationMicros: UInt64 { lastTimeMicros - firstTimeMicros }
    /// Wall-clock time of a record of this session at `time` µs since its start, within
    /// ``RecordTime/earliestWallMicros`` … ``RecordTime/latestWallMicros``.
    public func wallMicros(_ time: UInt64) -> Int64 {
        RecordTime.wall(start: startWallMicros, time: time) ?? RecordTime.latestWallMicros
    }

    public func totals(_ direction: Direction) -> DirectionTotals {
        direction == .clientToTarget ? clientToTarget : targetToClient
    }
}

/// A session-0 marker: a note the writer left in the file, at a wall-clock time.
public struct MarkerStats: Sendable, Equatable {
    public var wallMicros: Int64
    public var text: String
}

/// Block counts and sizes of a native file (see docs/record-format.md §3).
public struct BlockStats: Sendable, Equatable {
    public var blocks = 0
    public var storedBlocks = 0
    public var deflatedBlocks = 0
    /// Sum of the blocks' raw (decompressed) payload lengths.
    public var rawBytes: UInt64 = 0
    /// Sum of the blocks' payload lengths as stored in the file.
    public var storedBytes: UInt64 = 0
}

/// The most payload bytes one direction carried in any 1-second window of wall-clock time.
public struct PeakThroughput: Sendable, Equatable {
    public var bytes: UInt64 = 0
    /// Wall-clock start of the busiest window; nil when the direction carried nothing.
    public var windowStartWallMicros: Int64?
}

/// One frame's payload at a wall-clock time, the unit of throughput and plots.
public struct TrafficSample: Sendable, Equatable {
    public var wallMicros: Int64
    public var bytes: Int
}

/// Statistics over a whole recording (either format): sessions, compression, throughput.
public struct RecordStats: Sendable {
    public var path: String
    public var format: RecordSource.Format
    public var fileBytes: UInt64 = 0
    public var records = 0
    public var frames: UInt64 = 0
    public var payloadBytes: UInt64 = 0
    /// Block figures; nil for legacy files, which have no blocks, and for several files taken together.
    public var blocks: BlockStats?
    /// How many files these figures are over (`stats FILE…` joins sessions that span files).
    public var fileCount = 1
    /// Sessions in ascending number.
    public var sessions: [SessionStats] = []
    public var markers: [MarkerStats] = []
    /// Every frame's payload size at its wall-clock time, per direction, in ascending time.
    public var clientToTargetTraffic: [TrafficSample] = []
    public var targetToClientTraffic: [TrafficSample] = []
    public var damages: [Damage] = []
    /// Records the writer lost, from the file's gap blocks, in file order.
    public var gaps: [RecordGap] = []
    /// Records whose time is out of range (one finding per session): counted, and placed at the
    /// time of their session's record before them.
    public var timeProblems: [RecordTimeline.Finding] = []

    public init(path: String, format: RecordSource.Format) {
        self.path = path
        self.format = format
    }

    public func traffic(_ direction: Direction) -> [TrafficSample] {
        direction == .clientToTarget ? clientToTargetTraffic : targetToClientTraffic
    }

    /// The busiest 1-second window of `direction`.
    public func peak(_ direction: Direction, windowMicros: Int64 = 1_000_000) -> PeakThroughput {
        Self.peak(of: traffic(direction), windowMicros: windowMicros)
    }

    /// The largest sum of bytes over samples whose times lie in some `[t, t + window)`, with `t`
    /// the time of a sample. `samples` must be in ascending time.
    public static func peak(of samples: [TrafficSample], windowMicros: Int64) -> PeakThroughput {
        var best = PeakThroughput()
        var sum: UInt64 = 0
        var left = 0
        /// True when `later` is at least a window after `earlier` (a difference past Int64.max is).
        func apart(_ later: Int64, _ earlier: Int64) -> Bool {
            let (difference, overflow) = later.subtractingReportingOverflow(earlier)
            return overflow || difference >= windowMicros
        }
        for right in samples.indices {
            sum += UInt64(samples[right].bytes)
            while left < right, apart(samples[right].wallMicros, samples[left].wallMicros) {
                sum -= UInt64(samples[left].bytes)
                left += 1
            }
            if sum > best.bytes || best.windowStartWallMicros == nil {
                best = PeakThroughput(bytes: sum, windowStartWallMicros: samples[left].wallMicros)
            }
        }
        return best
    }

    /// File bytes per payload byte, in thousandths (nil without payload): 250 means the file is
    /// a quarter of the payload it holds.
    public var fileToPayloadPermille: UInt64? {
        payloadBytes == 0 ? nil : (fileBytes * 1000 + payloadBytes / 2) / payloadBytes
    }
}

/// Collects ``RecordStats`` from records and block headers; needs no file.
public struct RecordStatsAccumulator {
    public private(set) var stats: RecordStats
    private var sessionPositions: [UInt32: Int] = [:]
    private var sorted = true
    private var timeline = RecordTimeline()

    public init(path: String, format: RecordSource.Format) {
        stats = RecordStats(path: path, format: format)
    }

    /// Notes a gap block: records the writer lost.
    public mutating func add(gap: RecordGap) {
        stats.gaps.append(gap)
    }

    /// Counts one block of a native file.
    public mutating func add(blockHeader header: BlockHeader) {
        var blocks = stats.blocks ?? BlockStats()
        blocks.blocks += 1
        if header.codec == .stored { blocks.storedBlocks += 1 } else { blocks.deflatedBlocks += 1 }
        blocks.rawBytes += UInt64(header.rawLength)
        blocks.storedBytes += UInt64(header.storedLength)
        stats.blocks = blocks
    }

    /// Counts one record, the next in file order; `location` names it if its time is out of range.
    public mutating func add(_ record: Record, at location: RecordLocation? = nil) {
        stats.records += 1
        let placement = timeline.place(record, at: location)
        if record.session == 0 {
            if case .marker(let text) = record.body {
                stats.markers.append(MarkerStats(wallMicros: Int64(clamping: record.timeMicros), text: text))
            }
            return
        }
        let position: Int
        if let known = sessionPositions[record.session] {
            position = known
        } else {
            position = stats.sessions.count
            sessionPositions[record.session] = position
            stats.sessions.append(SessionStats(session: record.session, firstTimeMicros: placement.timeMicros))
        }
        var session = stats.sessions[position]
        session.firstTimeMicros = min(session.firstTimeMicros, placement.timeMicros)
        session.lastTimeMicros = max(session.lastTimeMicros, placement.timeMicros)
        switch record.body {
        case .open(let open): session.open = open
        case .close(let close): session.close = close
        case .marker: break
        case .frame(let frame):
            let bytes = UInt64(frame.payload.count)
            stats.frames += 1
            stats.payloadBytes += bytes
            let sample = TrafficSample(
                wallMicros: placement.wallMicros ?? session.wallMicros(placement.timeMicros), bytes: frame.payload.count)
            if frame.direction == .clientToTarget {
                session.clientToTarget.frames += 1
                session.clientToTarget.bytes += bytes
                if let last = stats.clientToTargetTraffic.last, last.wallMicros > sample.wallMicros { sorted = false }
                stats.clientToTargetTraffic.append(sample)
            } else {
                session.targetToClient.frames += 1
                session.targetToClient.bytes += bytes
                if let last = stats.targetToClientTraffic.last, last.wallMicros > sample.wallMicros { sorted = false }
                stats.targetToClientTraffic.append(sample)
            }
        }
        stats.sessions[position] = session
    }

    /// The statistics, with sessions in ascending number and traffic in ascending time.
    public func finish(fileBytes: UInt64, damages: [Damage]) -> RecordStats {
        var result = stats
        result.fileBytes = fileBytes
        result.damages = damages
        result.timeProblems = timeline.outOfRange
        result.sessions.sort { $0.session < $1.session }
        if !sorted {
            // Stable: samples of equal time keep file order.
            for direction in Direction.allCases {
                let samples = result.traffic(direction).enumerated().sorted {
                    ($0.element.wallMicros, $0.offset) < ($1.element.wallMicros, $1.offset)
                }.map(\.element)
                if direction == .clientToTarget {
                    result.clientToTargetTraffic = samples
                } else {
                    result.targetToClientTraffic = samples
                }
            }
        }
        return result
    }
}

extension RecordStats {
    /// Reads every record (and, for our format, every block header) of `path`.
    public static func compute(path: String, progress: ProgressCallback? = nil) throws(RecordFormatError) -> RecordStats {
        let source = try RecordSource(path: path)
        var accumulator = RecordStatsAccumulator(path: path, format: source.format)
        switch source.format {
        case .native:
            let reader = try RecordFileReader(path: path)
            while let block = try reader.nextBlock() {
                progress?(reader.bytesRead, reader.fileSize)
                accumulator.add(blockHeader: block.header)
                if case .records(let records) = block.content {
                    for (index, record) in records.enumerated() {
                        accumulator.add(record, at: RecordLocation(offset: block.offset, indexInBlock: index))
                    }
                } else if case .gap(let gap) = block.content {
                    accumulator.add(gap: gap)
                }
            }
            return accumulator.finish(fileBytes: reader.fileSize, damages: reader.damages)
        case .legacy:
            while let record = try source.nextRecord() { accumulator.add(record, at: source.lastRecordLocation) }
            return accumulator.finish(fileBytes: try SystemFile.size(path: path), damages: source.damages)
        }
    }
}
