/// Session times as text: in messages, in the names of a series' files, under thumbnails.
public enum RenderTimeText {
    /// `12.500` (seconds, milliseconds).
    public static func seconds(_ micros: UInt64) -> String {
        let millis = (micros + 500) / 1000
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// `00h00m12.500s`: fixed width, so that a directory listing sorts a series by time.
    public static func fileStamp(_ micros: UInt64) -> String {
        let millis = (micros + 500) / 1000
        let (hours, minutes, seconds, ms) = (millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60, millis % 1000)
        return pad(hours, 2) + "h" + pad(minutes, 2) + "m" + pad(seconds, 2) + "." + pad(ms, 3) + "s"
    }

    /// `1:02:03.4`, `2:03.4` (a label under a thumbnail: tenths of a second, hours only when needed).
    public static func label(_ micros: UInt64) -> String {
        let tenths = (micros + 50_000) / 100_000
        let (hours, minutes, seconds, tenth) = (tenths / 36_000, tenths / 600 % 60, tenths / 10 % 60, tenths % 10)
        let tail = pad(seconds, 2) + "." + String(tenth)
        return hours > 0 ? "\(hours):" + pad(minutes, 2) + ":" + tail : "\(minutes):" + tail
    }

    private static func pad(_ value: UInt64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
