import RecordFormat

/// A recording read while it is being written (`dump --follow`), in either format.
public protocol FollowedRecording: AnyObject {
    var path: String { get }
    /// Damage found so far (handed out by ``poll(_:)`` or ``finish()`` too).
    var damages: [Damage] { get }
    /// Gap blocks passed so far.
    var gaps: [RecordGap] { get }
    /// True while what was read ends the way a writer ends the file when it closes it normally.
    var endsClosed: Bool { get }
    /// True while a writer holds the file open (as far as the format and the system can tell).
    func lockedByWriter() -> Bool
    /// Reads what became whole since the last poll; false when the file did not change.
    @discardableResult func poll(_ handle: (RecordFollowEvent) throws -> Void) throws -> Bool
    /// Ends following: what is past the last whole piece is now damage, returned (and kept).
    func finish() throws -> [Damage]
}
