/// Small text encoders for dumps and messages, kept here so the library needs no Foundation; shared
/// with RecordTools.
package enum TextEncoding {
    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    package static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(base64Alphabet[Int(v >> 18 & 63)])
            out.append(base64Alphabet[Int(v >> 12 & 63)])
            out.append(base64Alphabet[Int(v >> 6 & 63)])
            out.append(base64Alphabet[Int(v & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let v = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(base64Alphabet[Int(v >> 18 & 63)])
            out.append(base64Alphabet[Int(v >> 12 & 63)])
            out.append(rest == 2 ? base64Alphabet[Int(v >> 6 & 63)] : 0x3D)
            out.append(0x3D)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of base64 text (RFC 4648 §4); whitespace and other foreign bytes are skipped,
    /// decoding stops at the first `=`.
    package static func base64Decode(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text {
            let value: UInt8
            switch byte {
            case 0x41...0x5A: value = byte - 0x41
            case 0x61...0x7A: value = byte - 0x61 + 26
            case 0x30...0x39: value = byte - 0x30 + 52
            case 0x2B, 0x2D: value = 62  // '+', or '-' of the URL-safe alphabet
            case 0x2F, 0x5F: value = 63  // '/', or '_'
            case 0x3D: return out
            default: continue
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }

    /// A JSON string literal, quotes included.
    package static func jsonString(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `seconds.micros`, e.g. `12.000345`.
    package static func seconds(micros: UInt64) -> String {
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    /// ISO 8601 UTC with microseconds, e.g. `2026-11-24T21:04:49.123456Z`.
    package static func isoDate(wallMicros: Int64) -> String {
        // Floor division; `wallMicros - micros` would overflow near Int64.min (any i64 is accepted).
        var totalSeconds = wallMicros / 1_000_000
        var micros = wallMicros % 1_000_000
        if micros < 0 {
            micros += 1_000_000
            totalSeconds -= 1
        }
        var days = totalSeconds / 86_400
        var secondsOfDay = totalSeconds % 86_400
        if secondsOfDay < 0 {
            secondsOfDay += 86_400
            days -= 1
        }
        // Civil date from days since 1970-01-01 (proleptic Gregorian).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):"
            + "\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(micros, 6))Z"
    }

    /// Printable ASCII of the first `limit` bytes, other bytes as `.`.
    package static func preview(_ bytes: [UInt8], limit: Int) -> String {
        var out = String(decoding: bytes.prefix(limit).map { (0x20...0x7E).contains($0) ? $0 : 0x2E }, as: UTF8.self)
        if bytes.count > limit { out += "…" }
        return out
    }
}
