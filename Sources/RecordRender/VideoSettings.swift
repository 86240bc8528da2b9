/// How ``VideoRenderer`` makes a video.
public struct VideoSettings: Sendable, Equatable {
    /// Frames per second of the video (session moments `speed / fps` seconds apart).
    public var fps: Int
    /// Session seconds per video second, as a fraction (`1.5` is 3/2): kept exact so that frame
    /// times and the video's clock agree.
    public var speedNumerator: Int
    public var speedDenominator: Int
    /// Burn the session time into the frames (ffmpeg's drawtext, DejaVu Sans Mono).
    public var timestamp: Bool
    /// The program run (looked up in PATH when it has no slash).
    public var ffmpeg: String
    /// The font drawtext uses for ``timestamp`` (Debian: fonts-dejavu-core).
    public var fontFile: String

    public static let defaultFontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

    public init(
        fps: Int = 10, speed: (numerator: Int, denominator: Int) = (1, 1), timestamp: Bool = false,
        ffmpeg: String = "ffmpeg", fontFile: String = VideoSettings.defaultFontFile
    ) {
        precondition(fps > 0 && speed.numerator > 0 && speed.denominator > 0, "a video needs a rate and a speed")
        self.fps = fps
        let divisor = Self.gcd(speed.numerator, speed.denominator)
        speedNumerator = speed.numerator / divisor
        speedDenominator = speed.denominator / divisor
        self.timestamp = timestamp
        self.ffmpeg = ffmpeg
        self.fontFile = fontFile
    }

    /// A speed such as `2`, `0.5` or `1.25` as a fraction (thousandths at most); nil when not above 0.
    public static func speed(_ text: String) -> (numerator: Int, denominator: Int)? {
        guard let value = Double(text), value.isFinite, value >= 0.001, value <= 10_000 else { return nil }
        return (Int((value * 1000).rounded()), 1000)
    }

    /// The session time of video frame `index`, µs.
    public func sessionMicros(ofFrame index: Int) -> UInt64 {
        UInt64(index) * 1_000_000 * UInt64(speedNumerator) / (UInt64(fps) * UInt64(speedDenominator))
    }

    /// The video frames that cover a session whose last record is at `endMicros`.
    public func frameCount(endMicros: UInt64) -> Int {
        Int(endMicros * UInt64(fps) * UInt64(speedDenominator) / (1_000_000 * UInt64(speedNumerator))) + 1
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
