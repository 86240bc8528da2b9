/// ISO 8601 UTC timestamps with microseconds (`2026-11-24T21:04:49.123456Z`), as the dumps print
/// them; public for other modules' logs (syslog).
public enum ISODate {
    /// The timestamp for `wallMicros` microseconds since 1970-01-01T00:00:00Z.
    public static func string(wallMicros: Int64) -> String { TextEncoding.isoDate(wallMicros: wallMicros) }
}
