extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF. By scalars: "\r\n" is one Character in
    /// Swift, equal to neither "\r" nor "\n", so a line ending read from a Windows-edited file (a key
    /// file, a token file, a Redis value) would otherwise survive the trim.
    package func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
            let last = scalars.lastIndex(where: { !isSpace($0) })
        else {
            return ""
        }
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: scalars[first...last])
        return String(kept)
    }
}
