import RFB

/// How a person reads the difference between a recorded RFB message and the one found in its
/// place: `expected KeyEvent 'o' (0x6f) down, got KeyEvent 'p' (0x70) down`, or for encoding
/// lists `SetEncodings differs: added H.264, ExtendedClipboard; removed —; order changed`.
public enum RFBMessageDifference {
    /// One line saying how `actual` differs from `recorded`.
    public static func describe(recorded: RFBMessage, actual: RFBMessage) -> String {
        if case .setEncodings(let old) = recorded, case .setEncodings(let new) = actual {
            return "SetEncodings differs: " + encodings(recorded: old, actual: new)
        }
        return "expected \(recorded), got \(actual)"
    }

    /// `added A, B; removed —; order changed` (or `order kept`): what `actual` adds to the
    /// recorded list, what it lacks, and whether the encodings both have come in another order.
    public static func encodings(recorded: [RFBEncoding], actual: [RFBEncoding]) -> String {
        let oldSet = Set(recorded)
        let newSet = Set(actual)
        let added = unique(actual.filter { !oldSet.contains($0) })
        let removed = unique(recorded.filter { !newSet.contains($0) })
        let commonOld = unique(recorded.filter { newSet.contains($0) })
        let commonNew = unique(actual.filter { oldSet.contains($0) })
        func list(_ encodings: [RFBEncoding]) -> String {
            encodings.isEmpty ? "—" : encodings.map(\.description).joined(separator: ", ")
        }
        return "added \(list(added)); removed \(list(removed)); order " + (commonOld == commonNew ? "kept" : "changed")
    }

    private static func unique(_ encodings: [RFBEncoding]) -> [RFBEncoding] {
        var seen = Set<RFBEncoding>()
        return encodings.filter { seen.insert($0).inserted }
    }
}
