import Proxy

/// Client-supplied text (tokens, user names, origins) in log lines: quoted, control characters
/// escaped so no one can forge log lines, at most 64 characters. Only text that was refused is
/// logged, never a credential that worked.
enum LogText {
    static func quoted(_ text: String) -> String {
        var out = "'"
        for (n, scalar) in text.unicodeScalars.enumerated() {
            if n == 64 {
                out += "…"
                break
            }
            out += scalar.value < 0x20 || scalar.value == 0x7F || scalar == "'" || scalar == "\\"
                ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return out + "'"
    }
}
