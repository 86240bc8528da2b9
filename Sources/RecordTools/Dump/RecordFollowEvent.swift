import RecordFormat

/// What a ``FollowedRecording`` hands out as the file grows, in file order.
public enum RecordFollowEvent {
    case entry(RecordEntry)
    case damage(Damage)
}
