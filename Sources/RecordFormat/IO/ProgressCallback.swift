/// Told now and then how far a long operation has read: (file bytes read, file size).
public typealias ProgressCallback = (UInt64, UInt64) -> Void
