#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import RecordFormat

/// Files of a directory tree (the noVNC tree): only regular files, reached by segments that
/// ``ViewerRequestTarget`` already cleared of `..`, with a content type from the extension.
enum ViewerStaticFile {
    /// Largest file served (noVNC's biggest file is a few hundred KiB).
    static let sizeLimit: UInt64 = 16 << 20

    static func response(root: String, segments: [String]) -> ViewerResponse {
        let path = ([root.hasSuffix("/") ? String(root.dropLast()) : root] + segments).joined(separator: "/")
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return .error(404, "not found") }
        guard UInt64(info.st_size) <= sizeLimit else { return .error(403, "file too large") }
        do {
            let fd = try SystemFile.open(path, flags: O_RDONLY)
            defer { close(fd) }
            var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
            let n = try SystemFile.read(fd, into: &bytes, at: 0, path: path)
            return ViewerResponse(status: 200, contentType: contentType(of: segments.last ?? ""), body: Array(bytes.prefix(n)))
        } catch {
            return .error(404, "not readable")
        }
    }

    static func contentType(of name: String) -> String {
        switch name.split(separator: ".").last.map({ $0.lowercased() }) {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "json": "application/json"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "wasm": "application/wasm"
        default: "application/octet-stream"
        }
    }
}
