import Foundation
import NIOHTTP1
import Proxy
@testable import StaticWeb
import Testing

/// A web root with files, directories and symbolic links in and out of it, in a fresh temporary
/// directory: `base/www` is the root, `base/secret.txt` and `base/www-secret/` are outside it.
struct WebTree {
    let base: String
    var root: String { base + "/www" }

    init() throws {
        let manager = FileManager.default
        base = manager.temporaryDirectory.appendingPathComponent("webtree-\(UUID().uuidString)").path
        let www = base + "/www"
        for dir in [www + "/sub", www + "/empty", www + "/evilindex", base + "/www-secret", base + "/outside"] {
            try manager.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let files = [
            www + "/index.html": "<h1>home</h1>", www + "/sub/file.txt": "inside", www + "/a b.txt": "spaced",
            base + "/secret.txt": "SECRET", base + "/www-secret/secret.txt": "SECRET",
            base + "/outside/index.html": "SECRET",
        ]
        for (path, text) in files { try text.write(toFile: path, atomically: false, encoding: .utf8) }
        let links = [
            www + "/escape": "/etc", www + "/escape-file": "../secret.txt", www + "/sibling": "../www-secret",
            www + "/inner-link": "sub/file.txt", www + "/dir-out": "../outside",
            www + "/evilindex/index.html": "../../secret.txt", www + "/loop": "loop",
        ]
        for (path, destination) in links { try manager.createSymbolicLink(atPath: path, withDestinationPath: destination) }
    }

    func remove() { try? FileManager.default.removeItem(atPath: base) }

    func resolver(fileOnly: Bool = false) throws -> WebPathResolver {
        try WebPathResolver(configuration: WebConfiguration(root: root, fileOnly: fileOnly))
    }
}

@Suite("Web path resolver")
struct WebPathResolverTests {
    /// Ways out of the root over the wire; each must be refused or land inside the root.
    static let traversals: [String] = [
        "/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
        "/%2e./secret.txt", "/..%2fsecret.txt", "/..%2Fsecret.txt", "/%2e%2e%2fsecret.txt", "/sub%2f..%2f..%2fsecret.txt",
        "/..\\secret.txt", "/..%5csecret.txt", "/sub/..%5c..%5csecret.txt", "/%5c..%5csecret.txt",
        "/secret.txt%00", "/index.html%00.png", "/%00/../secret.txt", "//etc/passwd", "/etc/passwd",
        "///../../secret.txt", "http://host/../secret.txt", "http://evil/%2e%2e/secret.txt", "https://x/..%2fsecret.txt",
        "/escape/passwd", "/escape/", "/escape-file", "/sibling/secret.txt", "/sibling/", "/dir-out/", "/dir-out/index.html",
        "/evilindex/", "/evilindex/index.html", "/%252e%252e/secret.txt", "/%c0%ae%c0%ae/secret.txt",
        "/%e0%80%ae%e0%80%ae/secret.txt", "C:\\secret.txt", "../secret.txt", "secret.txt", "*",
        "/sub/./../../secret.txt", "/..;/secret.txt", "/~/../secret.txt", "/loop", "/%2e%2e", "/sub/%2e%2e/%2e%2e/",
        "/....//secret.txt", "/.%00./secret.txt", "/%u002e%u002e/secret.txt", "/\u{2024}\u{2024}/secret.txt",
    ]

    @Test("every traversal attempt is refused or stays inside the root", arguments: traversals)
    func traversalIsRefusedOrInside(target: String) throws {
        let tree = try WebTree()
        defer { tree.remove() }
        let resolver = try tree.resolver()
        switch resolver.resolve(target: target) {
        case .refused(let refusal):
            #expect([400, 403, 404].contains(refusal.status.code), "\(target): \(refusal)")
        case .file(let path):
            #expect(resolver.isInside(path), "\(target) served \(path)")
            #expect((try? String(contentsOfFile: path, encoding: .utf8)) != "SECRET", "\(target) served \(path)")
        case .listing(let directory, _):
            #expect(resolver.isInside(directory), "\(target) listed \(directory)")
        case .redirect(let location):
            #expect(location.hasPrefix("/") && !location.hasPrefix("//"), "\(target) redirected to \(location)")
        }
    }

    @Test("the reasons: .. and encoded slashes and backslashes are 403, NUL and bad encodings 400, links out 403")
    func refusalStatuses() throws {
        let tree = try WebTree()
        defer { tree.remove() }
        let resolver = try tree.resolver()
        let expected: [(String, UInt)] = [
            ("/../secret.txt", 403), ("/%2e%2e/secret.txt", 403), ("/..%2fsecret.txt", 403), ("/..\\secret.txt", 403),
            ("/..%5csecret.txt", 403), ("/index.html%00", 400), ("/%zz", 400), ("/%c0%ae%c0%ae/x", 400),
            ("/%0d%0aSet-Cookie:x", 400), ("C:\\secret.txt", 400), ("*", 400), ("/escape/passwd", 403),
            ("/escape-file", 403), ("/sibling/secret.txt", 403), ("/dir-out/", 403), ("/evilindex/", 403),
            ("/loop", 403), ("/missing.html", 404), ("//etc/passwd", 404), ("/index.html/", 404),
            ("http://h/../x", 403),
        ]
        for (target, status) in expected {
            guard case .refused(let refusal) = resolver.resolve(target: target) else {
                Issue.record("\(target) was not refused: \(resolver.resolve(target: target))")
                continue
            }
            #expect(refusal.status.code == status, "\(target): \(refusal)")
            // The client is told little; the log says why.
            #expect(!refusal.message.contains(tree.base), "\(target): \(refusal.message)")
        }
    }

    @Test("files, index files, listings, redirects, queries, absolute-form targets and links inside the root")
    func servesInsideTheRoot() throws {
        let tree = try WebTree()
        defer { tree.remove() }
        let resolver = try tree.resolver()
        let root = resolver.root
        #expect(resolver.resolve(target: "/") == .file(path: root + "/index.html"))
        #expect(resolver.resolve(target: "/?x=1") == .file(path: root + "/index.html"))
        #expect(resolver.resolve(target: "http://example.com") == .file(path: root + "/index.html"))
        #expect(resolver.resolve(target: "http://example.com:80/sub/file.txt?a") == .file(path: root + "/sub/file.txt"))
        #expect(resolver.resolve(target: "/sub/file.txt?x=/../..#frag") == .file(path: root + "/sub/file.txt"))
        #expect(resolver.resolve(target: "/sub/./file.txt") == .file(path: root + "/sub/file.txt"))
        #expect(resolver.resolve(target: "/a%20b.txt") == .file(path: root + "/a b.txt"))
        #expect(resolver.resolve(target: "/inner-link") == .file(path: root + "/sub/file.txt"))
        #expect(resolver.resolve(target: "/sub") == .redirect(location: "/sub/"))
        #expect(resolver.resolve(target: "/sub?a=b") == .redirect(location: "/sub/?a=b"))
        guard case .listing(let directory, let request) = resolver.resolve(target: "/sub/") else {
            Issue.record("no listing for /sub/")
            return
        }
        #expect(directory == root + "/sub")
        #expect(request.display == "/sub/")
        #expect(request.encoded == "/sub/")
    }

    @Test("--file-only: a directory without an index file is 404, with one it is served")
    func fileOnly() throws {
        let tree = try WebTree()
        defer { tree.remove() }
        let resolver = try tree.resolver(fileOnly: true)
        guard case .refused(let refusal) = resolver.resolve(target: "/empty/") else {
            Issue.record("listing with fileOnly")
            return
        }
        #expect(refusal.status == .notFound)
        #expect(resolver.resolve(target: "/") == .file(path: resolver.root + "/index.html"))
    }

    @Test("the root itself: symbolic links resolved; missing, a file, or unreadable is an error at start")
    func rootChecks() throws {
        let tree = try WebTree()
        defer { tree.remove() }
        try FileManager.default.createSymbolicLink(atPath: tree.base + "/link-to-www", withDestinationPath: "www")
        let viaLink = try WebPathResolver(configuration: WebConfiguration(root: tree.base + "/link-to-www"))
        #expect(viaLink.root == (try tree.resolver()).root)
        #expect(viaLink.resolve(target: "/sub/file.txt") == .file(path: viaLink.root + "/sub/file.txt"))
        #expect(throws: ProxyError.self) { try WebPathResolver(configuration: WebConfiguration(root: tree.base + "/nope")) }
        #expect(throws: ProxyError.self) {
            try WebPathResolver(configuration: WebConfiguration(root: tree.base + "/secret.txt"))
        }
        let error = #expect(throws: ProxyError.self) {
            try WebPathResolver(configuration: WebConfiguration(root: tree.base + "/nope"))
        }
        #expect(error?.message.contains("No such file or directory") == true)
    }

    @Test("a FIFO, a socket or a device is refused with 403, never opened")
    func specialFiles() throws {
        let tree = try WebTree()
        defer { tree.remove() }
        #expect(mkfifo(tree.root + "/fifo", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: tree.root + "/null", withDestinationPath: "/dev/null")
        let resolver = try tree.resolver()
        for target in ["/fifo", "/null"] {
            guard case .refused(let refusal) = resolver.resolve(target: target) else {
                Issue.record("\(target) not refused")
                continue
            }
            #expect(refusal.status == .forbidden, "\(target)")
        }
    }

    @Test("percent-decoding and -encoding")
    func percentCoding() {
        #expect(WebPathResolver.percentDecode("a%20b%2F%2f") == Array("a b//".utf8))
        #expect(WebPathResolver.percentDecode("%e6%97%a5") == Array("日".utf8))
        #expect(WebPathResolver.percentDecode("%") == nil)
        #expect(WebPathResolver.percentDecode("%4") == nil)
        #expect(WebPathResolver.percentDecode("%g0") == nil)
        #expect(WebPathResolver.percentEncode("a b/<日>?#%") == "a%20b%2F%3C%E6%97%A5%3E%3F%23%25")
        #expect(WebPathResolver.percentEncode("A-z_0.9~") == "A-z_0.9~")
    }
}

@Suite("MIME types")
struct MIMETypesTests {
    @Test("what noVNC needs, case-insensitive, and a fallback")
    func types() {
        let expected = [
            "vnc.html": "text/html; charset=utf-8", "app/ui.JS": "text/javascript; charset=utf-8",
            "core/rfb.mjs": "text/javascript; charset=utf-8", "app/styles/base.css": "text/css; charset=utf-8",
            "app/images/icons/novnc.svg": "image/svg+xml", "a.png": "image/png", "favicon.ico": "image/x-icon",
            "package.json": "application/json", "x.wasm": "application/wasm", "f.woff": "font/woff",
            "f.woff2": "font/woff2", "t.TXT": "text/plain; charset=utf-8", "photo.jpeg": "image/jpeg",
            "README": "application/octet-stream", ".bashrc": "application/octet-stream",
            "dir.d/file": "application/octet-stream", "archive.unknownext": "application/octet-stream",
        ]
        for (path, type) in expected { #expect(MIMETypes.contentType(forPath: path) == type, "\(path)") }
    }
}

@Suite("Directory listing")
struct DirectoryListingTests {
    @Test("names are HTML-escaped where shown and percent-encoded in links")
    func escaping() throws {
        let path = WebRequestPath(segments: ["d<i>r&"], endsInSlash: true)
        let page = DirectoryListing.render(
            path: path,
            entries: [
                .init(name: "<script>alert(1)</script>", isDirectory: false), .init(name: "a&b \"q\" 'x'", isDirectory: false),
                .init(name: "sub dir", isDirectory: true), .init(name: "日本.txt", isDirectory: false),
                .init(name: "javascript:alert(1)", isDirectory: false),
            ])
        #expect(!page.contains("<script>"))
        #expect(!page.contains("d<i>r"))
        #expect(page.contains("Directory listing for /d&lt;i&gt;r&amp;/"))
        #expect(page.contains("<a href=\"%3Cscript%3Ealert%281%29%3C%2Fscript%3E\">&lt;script&gt;alert(1)&lt;/script&gt;</a>"))
        #expect(page.contains("<a href=\"a%26b%20%22q%22%20%27x%27\">a&amp;b &quot;q&quot; &#39;x&#39;</a>"))
        #expect(page.contains("<a href=\"sub%20dir/\">sub dir/</a>"))
        #expect(page.contains("<a href=\"%E6%97%A5%E6%9C%AC.txt\">日本.txt</a>"))
        // A name that looks like a URL scheme stays a relative link.
        #expect(page.contains("<a href=\"javascript%3Aalert%281%29\">"))
        #expect(page.contains("<a href=\"../\">../</a>"))
        let order = try ["&lt;script", "a&amp;b", "javascript", "sub dir/", "日本"].map { try #require(page.range(of: $0), "\($0) listed").lowerBound }
        #expect(order == order.sorted())
    }

    @Test("the root's listing has no parent link")
    func rootListing() {
        let page = DirectoryListing.render(path: WebRequestPath(segments: [], endsInSlash: true), entries: [])
        #expect(page.contains("Directory listing for /<"))
        #expect(!page.contains("../"))
    }
}

@Suite("HTTP dates")
struct HTTPDateTests {
    @Test("IMF-fixdate both ways")
    func roundTrip() {
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        for seconds in [0, 951_782_400, 1_700_000_000, 4_102_444_799] {
            #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
        }
        for bad in ["", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"]
        {
            #expect(HTTPDate.parse(bad) == nil, "\(bad)")
        }
    }
}
