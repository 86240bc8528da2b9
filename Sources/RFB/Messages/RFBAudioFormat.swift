/// The sample format a QEMU audio "set format" message asks for (rfbproto, QEMU Audio Client Message).
public struct RFBAudioFormat: Sendable, Hashable, CustomStringConvertible {
    /// 0 U8, 1 S8, 2 U16, 3 S16, 4 U32, 5 S32.
    public var sampleFormat: UInt8
    public var channels: UInt8
    public var frequency: UInt32

    public init(sampleFormat: UInt8, channels: UInt8, frequency: UInt32) {
        self.sampleFormat = sampleFormat
        self.channels = channels
        self.frequency = frequency
    }

    /// `S16 2ch 44100 Hz`.
    public var description: String {
        let formats = ["U8", "S8", "U16", "S16", "U32", "S32"]
        let format = sampleFormat < formats.count ? formats[Int(sampleFormat)] : "format \(sampleFormat)"
        return "\(format) \(channels)ch \(frequency) Hz"
    }
}
