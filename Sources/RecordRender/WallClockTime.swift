/// Wall-clock times on the command line, as the dumps print them: ISO 8601 / RFC 3339
/// `2026-12-06T09:30:12.5Z`, or with an offset `+01:00`; a space may stand for the `T`.
public enum WallClockTime {
    /// Microseconds since 1970-01-01T00:00:00Z, or nil when `text` is not such a time.
    public static func micros(_ text: String) -> Int64? {
        let scalars = Array(text.utf8)
        var at = 0
        func number(_ digits: Int) -> Int? {
            guard at + digits <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[at..<at + digits] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            at += digits
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard at < scalars.count, characters.utf8.contains(scalars[at]) else { return false }
            at += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        var fraction = 0
        if at < scalars.count, scalars[at] == UInt8(ascii: ".") {
            at += 1
            var digits = 0
            while at < scalars.count, (0x30...0x39).contains(scalars[at]) {
                if digits < 6 { fraction = fraction * 10 + Int(scalars[at] - 0x30) }
                digits += 1
                at += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { fraction *= 10 }
        }
        var offsetSeconds = 0
        if expect("Zz") {
            // UTC
        } else if at < scalars.count, scalars[at] == UInt8(ascii: "+") || scalars[at] == UInt8(ascii: "-") {
            let sign = scalars[at] == UInt8(ascii: "-") ? -1 : 1
            at += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard at == scalars.count, (1...12).contains(month), day >= 1, day <= daysIn(month, year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let seconds = daysSinceEpoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Int64(seconds) * 1_000_000 + Int64(fraction)
    }

    private static func daysIn(_ month: Int, _ year: Int) -> Int {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// Days from 1970-01-01 to the date (proleptic Gregorian calendar).
    static func daysSinceEpoch(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
