import Foundation
import NIOHTTP1
import _NIOFileSystem
import Proxy

#if canImport(Glibc)
    import Glibc
#endif

/// A request target checked and split into path segments, before the file system is asked.
public struct WebRequestPath: Sendable, Equatable {
    /// The decoded segments, with empty and `.` ones dropped. None is `..`, and none holds `/`,
    /// `\`, NUL or another control character.
    public var segments: [String]
    /// The path ended in `/`: a directory was asked for.
    public var endsInSlash: Bool
    /// What followed `?`, as sent.
    public var query: String?

    public init(segments: [String], endsInSlash: Bool, query: String? = nil) {
        self.segments = segments
        self.endsInSlash = endsInSlash
        self.query = query
    }

    /// The path percent-encoded again, as a link to it: `/a%20b/c/`.
    public var encoded: String {
        "/" + segments.map(WebPathResolver.percentEncode).joined(separator: "/") + (trailingSlash ? "/" : "")
    }

    /// The decoded path, for people: `/a b/c/`.
    public var display: String { "/" + segments.joined(separator: "/") + (trailingSlash ? "/" : "") }

    private var trailingSlash: Bool { endsInSlash && !segments.isEmpty }
}

/// What a request target names under the web root.
public enum WebTarget: Sendable, Equatable {
    /// A regular file, by its canonical path (inside the root, no symbolic links).
    case file(path: String)
    /// A directory without an index file, to be listed.
    case listing(directory: String, request: WebRequestPath)
    /// A directory asked for without its trailing slash: relative links in it need one (301).
    case redirect(location: String)
    /// Not served: 400, 403 or 404 with the reason.
    case refused(RequestRefusal)
}

/// Maps request targets onto files under the web root, and refuses every way out of it.
///
/// Two steps: ``parse(target:)`` looks at the request target alone (percent-decoding, query
/// strings, absolute-form URIs; `..` segments, encoded slashes, backslashes and NUL bytes are
/// refused, not normalised), then ``locate(_:)`` asks the file system, resolving symbolic links
/// with `realpath(3)`, and refuses anything whose real path is outside the (equally resolved) root.
/// ``locate(_:)`` blocks on the file system: call it off the event loop.
public struct WebPathResolver: Sendable {
    /// The web root's canonical path: absolute, no symbolic links.
    public let root: String
    public let indexFiles: [String]
    public let fileOnly: Bool

    /// Resolves the configured root; fails when it does not exist, is not a directory, or cannot
    /// be read.
    public init(configuration: WebConfiguration) throws {
        let given = configuration.root
        let real: String
        switch Self.realPath(given) {
        case .success(let path): real = path
        case .failure(let code): throw ProxyError.webRoot(given, why: code.description)
        }
        guard Self.kind(of: real) == .directory else { throw ProxyError.webRoot(given, why: "not a directory") }
        guard access(real, R_OK | X_OK) == 0 else {
            throw ProxyError.webRoot(given, why: Errno(rawValue: errno).description)
        }
        root = real
        indexFiles = configuration.indexFiles
        fileOnly = configuration.fileOnly
    }

    /// ``parse(target:)`` then ``locate(_:)``.
    public func resolve(target: String) -> WebTarget {
        switch Self.parse(target: target) {
        case .success(let path): locate(path)
        case .failure(let refusal): .refused(refusal)
        }
    }

    // MARK: - The request target alone

    /// Checks a request target (origin-form `/path?query`, or absolute-form
    /// `http://host/path`) and splits its path into decoded segments.
    public static func parse(target: String) -> Result<WebRequestPath, RequestRefusal> {
        var rest = Substring(target)
        let lower = target.prefix(8).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            // Absolute-form (RFC 9112 §3.2.2): only the path counts; the authority is the client's business.
            let afterScheme = rest[rest.index(rest.firstIndex(of: ":")!, offsetBy: 3)...]
            rest = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }).map { afterScheme[$0...] } ?? "/"
            if rest.first == "?" { rest = "/" + rest }
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query: String?
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        guard rest.first == "/" else {
            return .failure(badRequest("the request target must be a path starting with /"))
        }
        var segments: [String] = []
        for raw in rest.split(separator: "/", omittingEmptySubsequences: true) {
            guard let bytes = percentDecode(raw) else {
                return .failure(badRequest("bad percent-encoding in the path"))
            }
            if bytes.contains(0) { return .failure(badRequest("NUL byte in the path")) }
            if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                return .failure(badRequest("control character in the path"))
            }
            if bytes.contains(UInt8(ascii: "/")) { return .failure(forbidden("encoded slash in a path segment")) }
            if bytes.contains(UInt8(ascii: "\\")) { return .failure(forbidden("backslash in the path")) }
            guard let segment = String(validating: bytes, as: UTF8.self) else {
                return .failure(badRequest("the path is not UTF-8"))
            }
            switch segment {
            case ".": continue
            case "..": return .failure(forbidden("parent directory (..) in the path"))
            default: segments.append(segment)
            }
        }
        return .success(WebRequestPath(segments: segments, endsInSlash: rest.hasSuffix("/"), query: query))
    }

    /// `%XX` sequences decoded to bytes; nil when a `%` is not followed by two hex digits.
    public static func percentDecode(_ text: some StringProtocol) -> [UInt8]? {
        var out: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(HexDigit.value), let low = iterator.next().flatMap(HexDigit.value) else {
                return nil
            }
            out.append(high << 4 | low)
        }
        return out
    }

    /// A path segment with everything but RFC 3986's unreserved characters percent-encoded.
    public static func percentEncode(_ segment: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }


    // MARK: - The file system

    /// What `path` names under the root. Blocks on the file system.
    public func locate(_ path: WebRequestPath) -> WebTarget {
        let candidate = path.segments.isEmpty ? root : root + "/" + path.segments.joined(separator: "/")
        let real: String
        switch Self.realPath(candidate) {
        case .success(let resolved): real = resolved
        case .failure(let code): return .refused(Self.missing(code))
        }
        guard isInside(real) else {
            return .refused(Self.forbidden("\(path.display) resolves outside the web root (to \(real))"))
        }
        switch Self.kind(of: real) {
        case .directory:
            guard path.endsInSlash || path.segments.isEmpty else {
                return .redirect(location: path.encoded + "/" + (path.query.map { "?" + $0 } ?? ""))
            }
            for index in indexFiles {
                guard case .success(let file) = Self.realPath(real + "/" + index) else { continue }
                guard isInside(file) else {
                    return .refused(Self.forbidden("\(path.display)\(index) resolves outside the web root (to \(file))"))
                }
                if Self.kind(of: file) == .regular { return .file(path: file) }
            }
            if fileOnly {
                return .refused(RequestRefusal(
                    status: .notFound, message: "Not found.", logMessage: "directory listing disabled (--file-only)"))
            }
            return .listing(directory: real, request: path)
        case .regular:
            guard !path.endsInSlash else {
                return .refused(RequestRefusal(status: .notFound, message: "Not found.", logMessage: "not a directory"))
            }
            return .file(path: real)
        case .other, nil:
            return .refused(Self.forbidden("not a regular file or directory"))
        }
    }

    /// True when `real` (a canonical path) is the root or below it.
    public func isInside(_ real: String) -> Bool {
        real == root || real.hasPrefix(root == "/" ? "/" : root + "/")
    }

    enum Kind { case directory, regular, other }

    /// The kind of file at `path`, a canonical path (a symbolic link there now is a race: `.other`);
    /// nil when it cannot be examined.
    static func kind(of path: String) -> Kind? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        switch attributes[.type] as? FileAttributeType {
        case .typeDirectory?: return .directory
        case .typeRegular?: return .regular
        default: return .other
        }
    }

    /// `realpath(3)`: the canonical absolute path, or the errno it failed with.
    static func realPath(_ path: String) -> Result<String, Errno> {
        guard let resolved = realpath(path, nil) else { return .failure(Errno(rawValue: errno)) }
        defer { free(resolved) }
        return .success(String(cString: resolved))
    }

    private static func missing(_ code: Errno) -> RequestRefusal {
        switch code {
        case .permissionDenied, .tooManySymbolicLinkLevels:
            forbidden(code.description)
        default:
            RequestRefusal(status: .notFound, message: "Not found.", logMessage: code.description)
        }
    }

    static func forbidden(_ why: String) -> RequestRefusal {
        RequestRefusal(status: .forbidden, message: "Forbidden.", logMessage: why)
    }

    static func badRequest(_ why: String) -> RequestRefusal {
        RequestRefusal(status: .badRequest, message: "Bad request: \(why).", logMessage: why)
    }
}
