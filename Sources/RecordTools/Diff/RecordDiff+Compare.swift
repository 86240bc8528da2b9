#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

import RFB
import RecordFormat
import WebSocketWire

extension RecordDiff {
    /// Compares `pathA` with `pathB` (either format). `progress` is called with file bytes read
    /// and the total, now and then.
    public static func compare(
        _ pathA: String, _ pathB: String, options: Options = .init(),
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws(RecordFormatError) -> Report {
        let sourceA = try RecordSource(path: pathA)
        let sourceB = try RecordSource(path: pathB)
        var engine = Engine(options: options)
        // With both session lists known up front (from the files' indexes), sessions only one file
        // has are never buffered: otherwise they would be held whole until the end.
        if options.pairs == nil, let a = try knownSessions(pathA, sourceA), let b = try knownSessions(pathB, sourceB) {
            engine.comparable = a.intersection(b)
        }
        var indexA = 0
        var indexB = 0
        var doneA = false
        var doneB = false
        var consumedA: UInt64 = 0
        var consumedB: UInt64 = 0
        let total = sourceA.fileSize + sourceB.fileSize
        var reported: UInt64 = 0
        while !(doneA && doneB) {
            // Read from the side that is behind, so neither runs far ahead of the other.
            let takeA = !doneA && (doneB || consumedA <= consumedB)
            if takeA {
                switch try sourceA.nextEntry() {
                case nil:
                    doneA = true
                case .gap(let gap):
                    engine.add(gap, side: 0)
                case .record(let record):
                    consumedA += engine.add(record, side: 0, index: indexA)
                    indexA += 1
                }
            } else {
                switch try sourceB.nextEntry() {
                case nil:
                    doneB = true
                case .gap(let gap):
                    engine.add(gap, side: 1)
                case .record(let record):
                    consumedB += engine.add(record, side: 1, index: indexB)
                    indexB += 1
                }
            }
            if let progress {
                let read = sourceA.bytesRead + sourceB.bytesRead
                if read - reported >= 16 << 20 {
                    reported = read
                    progress(read, total)
                }
            }
        }
        var report = engine.finish()
        report.damagesA = sourceA.damages
        report.damagesB = sourceB.damages
        report.gapsA = sourceA.gaps
        report.gapsB = sourceB.gaps
        return report
    }

    /// The sessions of a file when they can be had without reading its records: a legacy file holds
    /// session 1; a cleanly closed file lists them in its index, used only once a walk over the block
    /// headers confirms it (one small read per block, payloads skipped; record-format.md §5.3).
    static func knownSessions(_ path: String, _ source: RecordSource) throws(RecordFormatError) -> Set<UInt32>? {
        if source.format == .legacy { return [1] }
        let reader = try RecordFileReader(path: path)
        guard try reader.hasValidIndex() else { return nil }
        return Set(try reader.loadIndex().sessions.keys)
    }

    /// The comparison state of all streams.
    struct Engine {
        let options: Options
        /// Sessions worth comparing (in both files), when known in advance.
        var comparable: Set<UInt32>?
        var comparators: [PairKey: StreamComparator] = [:]
        var sessionsA: [UInt32] = []
        var sessionsB: [UInt32] = []
        var seenA: Set<UInt32> = []
        var seenB: Set<UInt32> = []
        var closesA: [UInt32: SessionClose] = [:]
        var closesB: [UInt32: SessionClose] = [:]
        /// With `rfb`: A's and B's sessions as RFB messages.
        var logs: [RFBMessageLog] = []
        let pairOfA: [UInt32: Int]
        let pairOfB: [UInt32: Int]

        struct PairKey: Hashable {
            var pair: Int
            var direction: Direction
        }

        init(options: Options) {
            self.options = options
            var a: [UInt32: Int] = [:]
            var b: [UInt32: Int] = [:]
            for (i, pair) in (options.pairs ?? []).enumerated() {
                a[pair.0] = i
                b[pair.1] = i
            }
            pairOfA = a
            pairOfB = b
            if options.rfb {
                let senders: Set<RFBDirection> =
                    switch options.direction {
                    case nil: [.clientToServer, .serverToClient]
                    case .clientToTarget: [.clientToServer]
                    case .targetToClient: [.serverToClient]
                    }
                logs = [RFBMessageLog(rules: options.rules, senders: senders), RFBMessageLog(rules: options.rules, senders: senders)]
            }
        }

        /// The pair a session belongs to: by number (its own number) or from the options.
        func pair(_ session: UInt32, side: Int) -> Int? {
            if options.pairs == nil { return Int(session) }
            return side == 0 ? pairOfA[session] : pairOfB[session]
        }

        /// Takes one record; returns the payload bytes it carried.
        mutating func add(_ record: Record, side: Int, index: Int) -> UInt64 {
            guard record.session != 0 else { return 0 }
            if side == 0 {
                if seenA.insert(record.session).inserted { sessionsA.append(record.session) }
            } else if seenB.insert(record.session).inserted {
                sessionsB.append(record.session)
            }
            guard let pair = pair(record.session, side: side) else { return 0 }
            if let comparable, !comparable.contains(record.session) { return 0 }
            if options.rfb { logs[side].add(record, index: index) }
            switch record.body {
            case .close(let close):
                if side == 0 { closesA[record.session] = close } else { closesB[record.session] = close }
                return 0
            case .frame(let frame):
                guard !frame.opcode.isControl else { return 0 }
                if let only = options.direction, frame.direction != only { return UInt64(frame.payload.count) }
                let key = PairKey(pair: pair, direction: frame.direction)
                let comparator = comparators[key] ?? {
                    let made = StreamComparator(direction: frame.direction, tolerance: options.timingToleranceMicros)
                    comparators[key] = made
                    return made
                }()
                comparator.add(side: side, session: record.session, payload: frame.payload, record: index, time: record.timeMicros)
                return UInt64(frame.payload.count)
            default:
                return 0
            }
        }

        /// Takes a gap block: the RFB messages of the directions it lost frames of stop there.
        mutating func add(_ gap: RecordGap, side: Int) {
            guard options.rfb else { return }
            for loss in gap.sessions where loss.session != 0 {
                for direction in [Direction.clientToTarget, .targetToClient] where loss.totals(direction).frames > 0 {
                    let lost = loss.totals(direction)
                    logs[side].markLost(
                        session: loss.session, sender: direction == .clientToTarget ? .clientToServer : .serverToClient,
                        "the recording lost \(lost.frames) frames (\(lost.bytes) bytes) here (\(gap.causes.text))")
                }
            }
        }

        mutating func finish() -> Report {
            var report = Report()
            for i in logs.indices { logs[i].finish() }
            var pairedA: Set<UInt32> = []
            var pairedB: Set<UInt32> = []
            if let pairs = options.pairs {
                for (a, b) in pairs {
                    if seenA.contains(a) { pairedA.insert(a) } else { report.onlyInB.append(b) }
                    if seenB.contains(b) { pairedB.insert(b) } else { report.onlyInA.append(a) }
                }
            } else {
                pairedA = seenA.intersection(seenB)
                pairedB = pairedA
                report.onlyInA = sessionsA.filter { !seenB.contains($0) }
                report.onlyInB = sessionsB.filter { !seenA.contains($0) }
            }
            let validPairs = Set(
                (options.pairs?.enumerated().filter { pairedA.contains($0.element.0) && pairedB.contains($0.element.1) }
                    .map(\.offset)) ?? pairedA.map { Int($0) })
            for (key, comparator) in comparators.sorted(by: { ($0.key.pair, $0.key.direction.rawValue) < ($1.key.pair, $1.key.direction.rawValue) })
            where validPairs.contains(key.pair) {
                var result = comparator.finish()
                if let pairs = options.pairs {
                    (result.sessionA, result.sessionB) = pairs[key.pair]
                } else {
                    (result.sessionA, result.sessionB) = (UInt32(key.pair), UInt32(key.pair))
                }
                if options.rfb {
                    let sender: RFBDirection = key.direction == .clientToTarget ? .clientToServer : .serverToClient
                    result.rfb = RecordDiff.RFBComparison(
                        a: logs[0].stream(session: result.sessionA, sender: sender),
                        b: logs[1].stream(session: result.sessionB, sender: sender), sender: sender, rules: options.rules,
                        sessionA: result.sessionA, toleranceMicros: options.timingToleranceMicros,
                        limit: options.differenceLimit)
                }
                report.streams.append(result)
            }
            let closePairs: [(UInt32, UInt32)] = options.pairs ?? pairedA.sorted().map { ($0, $0) }
            // How a session closed belongs to neither direction: compared only when both are.
            for (a, b) in closePairs where options.direction == nil && pairedA.contains(a) && pairedB.contains(b) {
                let ca = closesA[a]
                let cb = closesB[b]
                if ca?.code != cb?.code || ca?.closedBy != cb?.closedBy {
                    func text(_ c: SessionClose?) -> String {
                        guard let c else { return "no close record" }
                        return "closed by \(c.closedBy.name) with code \(c.code.map(String.init) ?? "-")"
                    }
                    report.closeDifferences.append("session \(a)↔\(b): A \(text(ca)), B \(text(cb))")
                }
            }
            return report
        }
    }

    /// One direction of one session pair, compared as it arrives.
    final class StreamComparator {
        private struct Side {
            var bytes: [UInt8] = []
            var start = 0
            /// (stream offset, record index, time) of each record whose bytes may still be needed.
            var segments: [(offset: UInt64, record: Int, time: UInt64)] = []
            var segmentStart = 0
            var total: UInt64 = 0
            var frames = 0
            var frameSizes: [Int] = []
            var frameStart = 0

            var available: Int { bytes.count - start }

            /// The segment holding stream offset `offset`.
            func segment(at offset: UInt64) -> (offset: UInt64, record: Int, time: UInt64)? {
                var found: (offset: UInt64, record: Int, time: UInt64)?
                var i = segmentStart
                while i < segments.count, segments[i].offset <= offset {
                    found = segments[i]
                    i += 1
                }
                return found
            }

            mutating func drop(_ count: Int, matchedTo offset: UInt64) {
                start += count
                while segmentStart + 1 < segments.count, segments[segmentStart + 1].offset <= offset { segmentStart += 1 }
                if start > 1 << 20 && start * 2 > bytes.count {
                    bytes.removeSubrange(0..<start)
                    start = 0
                }
                if segmentStart > 4096 {
                    segments.removeSubrange(0..<segmentStart)
                    segmentStart = 0
                }
            }
        }

        private var sides = [Side(), Side()]
        private var matched: UInt64 = 0
        private var history: [UInt8] = []
        private var diverged = false
        private var framingDiffers = false
        private var framingIndex = 0
        private var result: StreamResult
        private let tolerance: UInt64?

        init(direction: Direction, tolerance: UInt64?) {
            self.tolerance = tolerance
            self.result = StreamResult(sessionA: 0, sessionB: 0, direction: direction)
        }

        func add(side: Int, session: UInt32, payload: [UInt8], record: Int, time: UInt64) {
            sides[side].frames += 1
            let offset = sides[side].total
            sides[side].total += UInt64(payload.count)
            if !framingDiffers {
                sides[side].frameSizes.append(payload.count)
                compareFraming()
            }
            if diverged {
                // Keep filling the context after the divergence, up to 32 bytes per side.
                if var d = result.divergence {
                    let have = side == 0 ? d.contextA.count : d.contextB.count
                    let wanted = Int(d.offset - d.contextStart) + 32
                    if have < wanted {
                        let extra = payload.prefix(wanted - have)
                        if side == 0 { d.contextA += extra } else { d.contextB += extra }
                        result.divergence = d
                    }
                }
                return
            }
            guard !payload.isEmpty else { return }
            sides[side].segments.append((offset, record, time))
            sides[side].bytes.append(contentsOf: payload)
            compareBytes()
        }

        private func compareFraming() {
            while sides[0].frameStart < sides[0].frameSizes.count && sides[1].frameStart < sides[1].frameSizes.count {
                if sides[0].frameSizes[sides[0].frameStart] != sides[1].frameSizes[sides[1].frameStart] {
                    framingDiffers = true
                    result.firstFramingDifference = framingIndex
                    sides[0].frameSizes = []
                    sides[1].frameSizes = []
                    return
                }
                sides[0].frameStart += 1
                sides[1].frameStart += 1
                framingIndex += 1
            }
            for s in 0..<2 where sides[s].frameStart > 4096 {
                sides[s].frameSizes.removeSubrange(0..<sides[s].frameStart)
                sides[s].frameStart = 0
            }
        }

        private func compareBytes() {
            let n = min(sides[0].available, sides[1].available)
            guard n > 0 else { return }
            let mismatch: Int? = sides[0].bytes.withUnsafeBytes { a in
                sides[1].bytes.withUnsafeBytes { b in
                    let pa = a.baseAddress! + sides[0].start
                    let pb = b.baseAddress! + sides[1].start
                    if memcmp(pa, pb, n) == 0 { return nil }
                    var low = 0
                    var chunk = 4096
                    while low < n {
                        let len = min(chunk, n - low)
                        if memcmp(pa + low, pb + low, len) != 0 {
                            if len == 1 { return low }
                            chunk = max(1, len / 16)
                            continue
                        }
                        low += len
                    }
                    return nil
                }
            }
            advance(mismatch ?? n)
            if mismatch != nil { diverge() }
        }

        /// Moves the matched point `count` bytes on, checking delivery times on the way.
        private func advance(_ count: Int) {
            guard count > 0 else { return }
            let end = matched + UInt64(count)
            if let tolerance {
                // Every record start on either side is a moment a byte was delivered: compare it
                // with when the other side delivered the same byte. A start both sides share
                // counts once.
                for (side, other) in [(1, 0), (0, 1)] {
                    var i = sides[side].segmentStart
                    while i < sides[side].segments.count, sides[side].segments[i].offset < end {
                        let mine = sides[side].segments[i]
                        if mine.offset >= matched, let theirs = sides[other].segment(at: mine.offset),
                            side == 1 || theirs.offset != mine.offset
                        {
                            let delta = theirs.time > mine.time ? theirs.time - mine.time : mine.time - theirs.time
                            if delta > tolerance {
                                result.timingViolations += 1
                                result.worstTimingMicros = max(result.worstTimingMicros, delta)
                            }
                        }
                        i += 1
                    }
                }
            }
            let keep = min(16, count)
            sides[0].bytes.withUnsafeBytes { a in
                let from = sides[0].start + count - keep
                history = Array(history.suffix(16 - keep)) + Array(a[from..<from + keep])
            }
            matched = end
            sides[0].drop(count, matchedTo: end)
            sides[1].drop(count, matchedTo: end)
        }

        private func diverge() {
            diverged = true
            // A side with no byte at the divergence has ended there.
            let segA = sides[0].available > 0 ? sides[0].segment(at: matched) : nil
            let segB = sides[1].available > 0 ? sides[1].segment(at: matched) : nil
            func context(_ s: Int) -> [UInt8] {
                history + Array(sides[s].bytes[sides[s].start..<sides[s].start + min(32, sides[s].available)])
            }
            result.divergence = Divergence(
                offset: matched, recordA: segA?.record, timeA: segA?.time, recordB: segB?.record, timeB: segB?.time,
                contextStart: matched - UInt64(history.count), contextA: context(0), contextB: context(1))
            for s in 0..<2 {
                sides[s].bytes = []
                sides[s].start = 0
                sides[s].segments = []
                sides[s].segmentStart = 0
            }
        }

        func finish() -> StreamResult {
            if !diverged, sides[0].available != sides[1].available { diverge() }
            if !framingDiffers, sides[0].frames != sides[1].frames {
                result.firstFramingDifference = min(sides[0].frames, sides[1].frames)
            }
            result.bytesA = sides[0].total
            result.bytesB = sides[1].total
            result.framesA = sides[0].frames
            result.framesB = sides[1].frames
            return result
        }
    }
}
