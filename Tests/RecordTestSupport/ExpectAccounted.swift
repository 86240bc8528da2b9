import RecordFormat
import Testing

/// What the file holds plus what its gaps name equals what was appended: per session, kind and
/// direction, and in all. `unlisted`: the gaps may count records of sessions they do not name
/// (when the reserve had no room for more entries); then only the totals must add up.
public func expectAccounted(_ path: String, _ appended: [Record], unlisted: Bool = false) throws -> (
    records: [Record], gaps: [RecordGap]
) {
    let reader = try RecordFileReader(path: path)
    var records: [Record] = []
    while let record = try reader.nextRecord() { records.append(record) }
    #expect(reader.damages.isEmpty, "\(reader.damages)")
    let gaps = reader.gaps
    func payload(_ list: [Record], _ direction: Direction? = nil) -> UInt64 {
        list.reduce(0) {
            guard case .frame(let f) = $1.body, direction == nil || f.direction == direction else { return $0 }
            return $0 + UInt64(f.payload.count)
        }
    }
    #expect(UInt64(records.count) + gaps.reduce(0) { $0 + $1.records } == UInt64(appended.count), "records in all")
    #expect(payload(records) + gaps.reduce(0) { $0 + $1.payloadBytes } == payload(appended), "bytes in all")
    for gap in gaps where !unlisted {
        #expect(gap.records == gap.sessions.reduce(0) { $0 + $1.records })
        #expect(gap.payloadBytes == gap.sessions.reduce(0) { $0 + $1.payloadBytes })
    }
    for session in Set(appended.map(\.session)) {
        let sent = appended.filter { $0.session == session }
        let kept = records.filter { $0.session == session }
        let losses = gaps.flatMap(\.sessions).filter { $0.session == session }
        let named = UInt64(kept.count) + losses.reduce(0) { $0 + $1.records }
        if unlisted {
            #expect(named <= UInt64(sent.count), "records of session \(session)")
            continue
        }
        #expect(named == UInt64(sent.count), "records of session \(session)")
        for direction in Direction.allCases {
            let lostBytes = losses.reduce(0) { $0 + $1.totals(direction).bytes }
            #expect(payload(kept, direction) + lostBytes == payload(sent, direction), "session \(session) \(direction)")
        }
    }
    return (records, gaps)
}
