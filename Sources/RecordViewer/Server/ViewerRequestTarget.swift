/// A request target (`/api/sessions/1/stream?at=0`) split into its path segments and query,
/// percent-decoded. A path with `..` or `.` segments, an empty segment inside it, a NUL or a
/// backslash is refused: nothing the viewer serves is reached by climbing out of its roots.
struct ViewerRequestTarget: Sendable, Equatable {
    var segments: [String]
    var query: [String: String]

    init?(_ target: String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let rawPath = parts.first, rawPath.hasPrefix("/") else { return nil }
        var segments: [String] = []
        let pieces = rawPath.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for (i, piece) in pieces.enumerated() {
            guard let segment = Self.percentDecoded(piece) else { return nil }
            if segment.isEmpty, i == pieces.count - 1 { continue }  // a trailing slash
            guard !segment.isEmpty, segment != ".", segment != "..", !segment.contains("/"), !segment.contains("\\"),
                !segment.unicodeScalars.contains(where: { $0.value < 0x20 })
            else { return nil }
            segments.append(segment)
        }
        self.segments = segments
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let key = Self.percentDecoded(kv[0]) else { return nil }
                query[key] = kv.count > 1 ? Self.percentDecoded(kv[1]) ?? "" : ""
            }
        }
        self.query = query
    }

    /// `%XX` decoded (and `+` as a space in queries is not used by the page); nil for a bad escape
    /// or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
