#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The names of the files a rotated or per-session recording writes (UTC times, ISO 8601 basic
/// format, so that names sort by time).
public enum RecordFileName {
    /// `20261206T091600` for a wall-clock time in µs (UTC).
    public static func timestamp(wallMicros: Int64) -> String {
        var seconds = time_t(wallMicros >= 0 ? wallMicros / 1_000_000 : (wallMicros - 999_999) / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = String(Int(parts.tm_year) + 1900)
        return year + two(parts.tm_mon + 1) + two(parts.tm_mday) + "T" + two(parts.tm_hour) + two(parts.tm_min)
            + two(parts.tm_sec)
    }

    /// A file of a rotated recording: `BASE-20261206T091600.rec`, and `BASE-20261206T091600_s0002.rec`,
    /// `_s0003`, … for a second (third, …) file started within the same second (`attempt` 1, 2, …;
    /// at a few hundred MB/s of recording and small sizes, dozens can be). The names sort in the
    /// order the files were started (up to 9999 a second) both byte by byte (`ls` and globs in the
    /// C locale: `.` before `_`) and in a locale's collation (en_US.UTF-8 and the like compare
    /// letters and digits first and skip punctuation: `…600rec` before `…600s0002rec`, as `r`
    /// comes before `s`). A bare `_0002` would sort before the first file there (`0` before `r`).
    public static func rotated(base: String, wallMicros: Int64, attempt: Int) -> String {
        base + "-" + timestamp(wallMicros: wallMicros) + suffix(attempt) + ".rec"
    }

    /// `_s0002` for a second name, nothing for the first (see ``rotated(base:wallMicros:attempt:)``
    /// for why a letter comes first and the number is padded).
    static func suffix(_ attempt: Int) -> String {
        guard attempt > 1 else { return "" }
        let digits = String(attempt)
        return "_s" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// A per-session file in `directory`: `20261206T091600-TOKEN-ID.rec`, the session's start, its
    /// token (``token(of:)``, path-safe; left out when it has none) and its identity's UUID (its session number when
    /// it has none, with `_s0002`, … added if that name is taken).
    public static func perSession(directory: String, open: SessionOpen, session: UInt32, attempt: Int) -> String {
        var name = timestamp(wallMicros: open.startWallMicros)
        if let token = token(of: open), !token.isEmpty { name += "-" + pathSafe(token) }
        name += "-" + (open.identity?.uuidString ?? "session\(session)")
        name += suffix(attempt)
        let separator = directory.hasSuffix("/") ? "" : "/"
        return directory + separator + name + ".rec"
    }

    /// The session's token: its target when that is a token, else the `token` query parameter of
    /// its request path (websockify's token plugins' default), percent-decoded.
    public static func token(of open: SessionOpen) -> String? {
        if case .token(let token) = open.target { return token }
        guard let query = open.requestPath.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix("token=") {
            return percentDecoded(pair.dropFirst(6))
        }
        return nil
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%"), bytes.count >= 2,
                let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
            {
                out.append(value)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Longest path-safe token kept in a name (bytes); a longer one is cut (names stay unique by the UUID).
    public static let tokenLimit = 64

    /// `text` as a file-name part: ASCII letters, digits, `.`, `_` and `-` stay; every other byte
    /// (including `/`, and a leading `.` so no name is hidden or `..`) becomes `%XX`. At most
    /// ``tokenLimit`` bytes, cut before an escape rather than inside one.
    public static func pathSafe(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            let plain =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || (byte == UInt8(ascii: ".") && !out.isEmpty)
            let piece = plain ? [byte] : [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            guard out.count + piece.count <= tokenLimit else { break }
            out += piece
        }
        return String(decoding: out, as: UTF8.self)
    }
}
