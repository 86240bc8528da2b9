/// How a ``SessionPlayback`` keeps keyframes.
public struct KeyframeOptions: Sendable, Equatable {
    /// Where the cache file goes.
    public enum Cache: Sendable, Equatable {
        /// No cache file: keyframes live as long as the playback.
        case none
        /// Beside the recording: `FILE.keyframes`.
        case sidecar
        /// In this directory, named after the recording (for read-only recordings).
        case directory(String)
    }

    /// Session time between two keyframes. A keyframe costs a compressed screen (a few tens of
    /// KiB for a desktop) and the time to compress it; 5 s keeps a 30-minute session's keyframes
    /// to a few hundred while a moment is never more than 5 s of decoding away.
    public var intervalMicros: UInt64
    public var cache: Cache

    public init(intervalMicros: UInt64 = 5_000_000, cache: Cache = .sidecar) {
        self.intervalMicros = max(intervalMicros, 1)
        self.cache = cache
    }

    /// No keyframes worth keeping beyond one moment: memory only.
    public static let memoryOnly = KeyframeOptions(cache: .none)
}
