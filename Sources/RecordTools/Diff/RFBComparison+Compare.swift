import RFB
import RFBRules

extension RecordDiff.RFBComparison {
    /// Compares one sender's messages in A (the reference, whose messages per-message rules name)
    /// with B's: the two sequences are aligned (``SequenceAlignment``) so that a missing or extra
    /// message is one difference, then neighbouring unmatched messages of the same type are paired
    /// as changed. Server messages are compared by ``RFB/RFBMessage/structure``.
    init(
        a: RFBMessageLog.Stream, b: RFBMessageLog.Stream, sender: RFBDirection, rules: RFBRuleSet, sessionA: UInt32,
        toleranceMicros: UInt64?, limit: Int
    ) {
        self.init(sender: sender)
        comparedA = a.items.count
        comparedB = b.items.count
        ignoredA = a.ignored
        ignoredB = b.ignored
        for (label, stream) in [("A", a), ("B", b)] {
            guard let problem = stream.problem else { continue }
            if problem.kind == .truncated {
                notes.append("\(label): \(problem)")
            } else {
                unfollowed.append("\(label): \(problem)")
            }
        }
        guard unfollowed.isEmpty else { return }

        // What is compared of a message; the hashes the logs computed of it rule out most pairs at once.
        func key(_ item: Item) -> RFBMessage { sender == .serverToClient ? item.message.structure : item.message }
        func equal(_ i: Int, _ j: Int) -> Bool {
            a.hashes[i] == b.hashes[j] && key(a.items[i]) == key(b.items[j])
        }
        // Per-message rules name client messages of A by index.
        let indexA: (Int) -> Int? = { sender == .clientToServer ? a.items[$0].index : nil }
        // Only messages whose type is not simply checked need the rules asked.
        let flexible = a.items.indices.map {
            rules.treatment(of: a.items[$0].message, index: indexA($0), session: sessionA) != .check
        }
        func verdict(_ i: Int, _ j: Int) -> RFBRuleSet.Verdict {
            if equal(i, j) { return .same }
            guard flexible[i] else { return .different }
            return rules.compare(
                recorded: key(a.items[i]), actual: key(b.items[j]), index: indexA(i), session: sessionA)
        }
        let alignment = SequenceAlignment(countA: a.items.count, countB: b.items.count) {
            verdict($0, $1) != .different
        }
        aligned = alignment.isMinimal

        func record(_ kind: Difference.Kind, _ i: Int?, _ j: Int?) {
            switch kind {
            case .changed: changed += 1
            case .onlyInA: onlyInA += 1
            case .onlyInB: onlyInB += 1
            }
            if differences.count < limit {
                differences.append(Difference(kind: kind, a: i.map { a.items[$0] }, b: j.map { b.items[$0] }))
            }
        }
        func extra(_ j: Int) {
            if rules.allowsExtra(b.items[j].message, session: sessionA) {
                allowed += 1
            } else {
                record(.onlyInB, nil, j)
            }
        }
        // Unmatched messages between two matches: pair those of the same type, in order.
        var pendingA: [Int] = []
        var pendingB: [Int] = []
        func flush() {
            var nextB = 0
            for i in pendingA {
                if let found = pendingB[nextB...].firstIndex(where: {
                    b.items[$0].message.name == a.items[i].message.name
                }) {
                    for j in pendingB[nextB..<found] { extra(j) }
                    let j = pendingB[found]
                    if verdict(i, j) == .different { record(.changed, i, j) } else { allowed += 1 }
                    nextB = found + 1
                } else if rules.allowsMissing(a.items[i].message, index: indexA(i), session: sessionA) {
                    allowed += 1
                } else {
                    record(.onlyInA, i, nil)
                }
            }
            for j in pendingB[nextB...] { extra(j) }
            pendingA = []
            pendingB = []
        }
        for step in alignment.steps {
            switch step {
            case .same(let i, let j):
                flush()
                if equal(i, j) { matched += 1 } else { allowed += 1 }
                if let toleranceMicros {
                    let (ta, tb) = (a.items[i].timeMicros, b.items[j].timeMicros)
                    let delta = ta > tb ? ta - tb : tb - ta
                    if delta > toleranceMicros {
                        timingViolations += 1
                        worstTimingMicros = max(worstTimingMicros, delta)
                    }
                }
            case .onlyA(let i):
                pendingA.append(i)
            case .onlyB(let j):
                pendingB.append(j)
            }
        }
        flush()
    }
}
