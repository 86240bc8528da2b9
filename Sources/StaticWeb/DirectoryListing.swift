import Proxy

/// The HTML page listing a directory (`--web` without `--file-only`).
public enum DirectoryListing {
    /// One name in a directory.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var isDirectory: Bool

        public init(name: String, isDirectory: Bool) {
            self.name = name
            self.isDirectory = isDirectory
        }
    }

    /// The page for `path`: entries sorted by name, directories with a trailing `/`. Names are
    /// HTML-escaped where shown and percent-encoded in links, so no name can inject markup or
    /// point a link elsewhere.
    public static func render(path: WebRequestPath, entries: [Entry]) -> String {
        let title = "Directory listing for " + escapeHTML(path.display)
        var html = """
            <!DOCTYPE html>
            <html>
            <head>
            <meta charset="utf-8">
            <title>\(title)</title>
            </head>
            <body>
            <h1>\(title)</h1>
            <hr>
            <ul>

            """
        if !path.segments.isEmpty { html += "<li><a href=\"../\">../</a></li>\n" }
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            let suffix = entry.isDirectory ? "/" : ""
            let href = WebPathResolver.percentEncode(entry.name) + suffix
            html += "<li><a href=\"\(href)\">\(escapeHTML(entry.name + suffix))</a></li>\n"
        }
        html += "</ul>\n<hr>\n</body>\n</html>\n"
        return html
    }

    /// `&`, `<`, `>`, `"` and `'` as character references.
    public static func escapeHTML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
