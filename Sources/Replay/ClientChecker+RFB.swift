import RFB
import RFBRules
import RecordFormat

/// RFB mode: recorded and actual client messages decoded and compared under the rules, with
/// resynchronisation after a divergence.
extension ClientChecker {
    /// Follows the recorded session (both directions, in recorded order) and keeps the client
    /// messages the rules compare as units.
    mutating func buildRFBUnits(_ session: RecordedSession) {
        var recordedParser = RFBSessionParser()
        var lastClient: RecordedSession.Event?
        var clientIndex = 0
        // Target bytes the recording lost: the server side cannot be placed past them.
        var targetGaps = session.gaps.filter { $0.loss.targetToClient.frames > 0 }.map(\.targetOffset)
        var stopped = false
        for event in session.events where !stopped {
            var parsed: [RFBParseEvent] = []
            if event.direction == .targetToClient {
                if let gap = targetGaps.first, event.offset >= gap {
                    targetGaps.removeFirst()
                    parsed += recordedParser.markLost(.serverToClient, "target bytes the recording lost")
                }
                parsed += recordedParser.feed(.serverToClient, event.bytes)
            } else {
                lastClient = event
                parsed += recordedParser.feed(.clientToServer, event.bytes)
            }
            for item in parsed where !stopped {
                switch item {
                case .problem(let problem) where problem.direction == .clientToServer:
                    notes.append(
                        "the recording's client stream cannot be followed as RFB (\(problem)); later client messages are not checked"
                    )
                    recordedFollowedUpTo = problem.offset
                    stopped = true
                case .problem(let problem):
                    notes.append("the recording's server stream cannot be followed as RFB (\(problem))")
                case .message(let message) where message.direction == .clientToServer:
                    let index = clientIndex
                    clientIndex += 1
                    guard !rules.isIgnored(message.message) else { continue }
                    units.append(
                        Unit(
                            offset: message.offset, length: Int(message.length),
                            recordIndex: lastClient?.recordIndex ?? event.recordIndex,
                            timeMicros: lastClient?.timeMicros ?? event.timeMicros, name: message.message.name,
                            message: message.message, messageIndex: index))
                case .message:
                    continue
                }
            }
        }
    }

    mutating func handle(_ events: [RFBParseEvent], now: UInt64) -> [Divergence] {
        var out: [Divergence] = []
        for event in events where !(stopAtFirst && diverged) && !actualLost {
            switch event {
            case .problem(let problem) where problem.direction == .clientToServer:
                actualLost = true
                let unit = cursor < units.count ? units[cursor] : units.last
                out.append(
                    divergence(
                        .unparseable, nil, "the client's RFB stream cannot be followed (\(problem))", unit: unit,
                        actual: nil, actualOffset: problem.offset, now: now))
            case .message(let message) where message.direction == .clientToServer:
                out += check(message, now: now)
            case .problem, .message:
                continue  // the server's bytes are the recording's
            }
        }
        advance()
        return out
    }

    /// Whether the recorded unit `index` and `actual` are the same message.
    private func same(_ index: Int, _ actual: RFBMessage) -> Bool {
        rules.compare(recorded: units[index].message!, actual: actual, index: units[index].messageIndex, session: session)
            == .same
    }

    /// One actual message the rules compare.
    private mutating func check(_ actual: RFBParsedMessage, now: UInt64) -> [Divergence] {
        let message = actual.message
        if rules.isIgnored(message) {
            freeMessages += 1
            return []
        }
        var out: [Divergence] = []
        // A recorded message passed over earlier, sent late.
        if let position = skipped.firstIndex(where: { same($0, message) }) {
            let index = skipped.remove(at: position)
            resolve(index, .reordered)
            let after = lastResolved.flatMap { units[$0].messageIndex }.map { ", sent after client message #\($0)" } ?? ""
            out.append(
                divergence(
                    .reordered, .reordered,
                    "\(message) out of the recorded order (recorded as client message #\(units[index].messageIndex ?? 0)\(after))",
                    unit: units[index], actual: actual, now: now))
            return out
        }
        guard cursor < units.count else {
            if recordedFollowedUpTo != nil { return [] }  // past what the recording lets us check
            return extra(actual, now: now)
        }
        let window = cursor..<min(units.count, cursor + (stopAtFirst ? 1 : Self.lookAhead))
        let exact = window.first { same($0, message) }
        guard let found = exact ?? window.first(where: { units[$0].name == message.name }) ?? (stopAtFirst ? cursor : nil)
        else {
            return extra(actual, now: now)
        }
        // The units before the one found were not sent (yet): missing unless they come late.
        for index in cursor..<found {
            let unit = units[index]
            if rules.allowsMissing(unit.message!, index: unit.messageIndex, session: session) {
                resolve(index, .allowed)
            } else {
                states[index] = .skipped
                skipped.append(index)
            }
        }
        cursor = found + 1
        lastResolved = found
        let unit = units[found]
        let verdict =
            found == exact ? .same : rules.compare(recorded: unit.message!, actual: message, index: unit.messageIndex, session: session)
        switch verdict {
        case .same:
            resolve(found, .matched)
        case .allowed:
            resolve(found, .allowed)
        case .different:
            resolve(found, .changed)
            out.append(
                divergence(
                    .mismatch, .changed, RFBMessageDifference.describe(recorded: unit.message!, actual: message), unit: unit,
                    actual: actual, now: now))
        }
        // Units passed over more than the look-ahead ago will not come.
        while let oldest = skipped.first, oldest + Self.lookAhead < cursor {
            skipped.removeFirst()
            out += missing(oldest, because: "the client went on without it", now: now)
        }
        return out
    }

    private mutating func extra(_ actual: RFBParsedMessage, now: UInt64) -> [Divergence] {
        checkedMessages += 1
        if rules.allowsExtra(actual.message, session: session) {
            allowedMessages += 1
            return []
        }
        let unit = cursor < units.count ? units[cursor] : units.last
        return [
            divergence(
                .extra, .extra, "unexpected \(actual.message), which the recording does not have here", unit: unit,
                actual: actual, now: now)
        ]
    }

    /// A recorded unit that did not come: allowed by the rules, or a `.missing` divergence.
    private mutating func missing(_ index: Int, because why: String, now: UInt64) -> [Divergence] {
        let unit = units[index]
        if rules.allowsMissing(unit.message!, index: unit.messageIndex, session: session) {
            resolve(index, .allowed)
            return []
        }
        resolve(index, .missing)
        return [
            divergence(.missing, .missing, "expected \(unit.message!), got nothing (\(why))", unit: unit, actual: nil, now: now)
        ]
    }

    private mutating func resolve(_ index: Int, _ state: UnitState) {
        states[index] = state
        checkedMessages += 1
        switch state {
        case .matched: sameMessages += 1
        case .allowed: allowedMessages += 1
        default: break
        }
    }

    /// Moves ``matchedUnits`` past the units the client is done with.
    private mutating func advance() {
        while matchedUnits < units.count, states[matchedUnits].isDone { matchedUnits += 1 }
    }

    mutating func timedOutRFB(_ index: Int, seconds: Double, now: UInt64) -> [Divergence] {
        guard !(stopAtFirst && diverged) else { return [] }
        // The client is stuck at the first unit it has not sent, whatever the frame waited for.
        let stuck = min(matchedUnits, index)
        guard stuck < units.count, states[stuck] == .pending || states[stuck] == .skipped else { return [] }
        skipped.removeAll { $0 == stuck }
        if stuck >= cursor { cursor = stuck + 1 }
        let out = missing(stuck, because: "not within \(Self.seconds(seconds)) s", now: now)
        advance()
        return out
    }

    mutating func finishRFB(now: UInt64) -> [Divergence] {
        guard !(stopAtFirst && diverged) else { return [] }
        var out: [Divergence] = []
        for index in skipped { out += missing(index, because: "the client went on without it", now: now) }
        skipped = []
        // What the client never got to: one divergence for the first, counting the rest.
        let rest = units.indices.filter { states[$0] == .pending }
        var first: Int?
        for index in rest {
            let unit = units[index]
            if rules.allowsMissing(unit.message!, index: unit.messageIndex, session: session) {
                resolve(index, .allowed)
            } else {
                resolve(index, .missing)
                if first == nil { first = index }
            }
        }
        if let first {
            let more = rest.filter { $0 > first && states[$0] == .missing }.count
            let unit = units[first]
            let tail = more > 0 ? ", nor the \(more) recorded client messages after it" : ""
            out.append(
                divergence(
                    .missing, .missing, "expected \(unit.message!), got nothing before the session ended\(tail)",
                    unit: unit, actual: nil, now: now))
        }
        cursor = units.count
        advance()
        return out
    }

    /// A divergence about the recorded `unit` and the client's `actual` message: the text gets
    /// where it happened (`at client offset 1234, record #43, 1.506 s`), the excerpts cover the
    /// two messages.
    private mutating func divergence(
        _ kind: Divergence.Kind, _ change: Divergence.Change?, _ text: String, unit: Unit?, actual: RFBParsedMessage?,
        actualOffset: UInt64? = nil, now: UInt64
    ) -> Divergence {
        diverged = true
        let offset = actual?.offset ?? actualOffset ?? UInt64(receivedBytes)
        var place = "at client offset \(offset)"
        if let unit { place += ", record #\(unit.recordIndex), \(Self.seconds(Double(unit.timeMicros) / 1e6)) s" }
        var result = Divergence(
            session: session, kind: kind, stream: "client", message: "\(text) \(place)", recordedOffset: unit?.offset,
            actualOffset: offset, recordIndex: unit?.recordIndex, recordedTimeMicros: unit?.timeMicros,
            actualTimeMicros: now,
            recordedHex: unit.map { Divergence.hex(recorded, message: $0.offset, length: UInt64($0.length)) } ?? "",
            actualHex: actual.map { Divergence.hex(self.actual, message: $0.offset, length: $0.length) } ?? "")
        result.change = change
        result.recordedMessage = unit?.message.map(\.description)
        result.actualMessage = actual?.message.description
        result.clientMessage = unit?.messageIndex
        return result
    }

    /// `1.506`: seconds with three decimals.
    static func seconds(_ value: Double) -> String {
        let millis = Int((value * 1000).rounded())
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
