/// What reading a recording in file order gives: a record, or a gap where the writer lost records.
public enum RecordEntry: Sendable, Equatable {
    case record(Record)
    case gap(RecordGap)
}
