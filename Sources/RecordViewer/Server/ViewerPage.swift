/// The viewer's own page: `Page/viewer.html`, `viewer.js` and `viewer.css`, built into the binary
/// (SwiftPM `embedInCode`), so that an installed `wsrecord-inspect` needs no file beside it; only
/// noVNC comes from a directory (`--novnc`).
enum ViewerPage {
    static func file(_ name: String) -> ViewerResponse? {
        let bytes: [UInt8]
        switch name {
        case "viewer.html": bytes = PackageResources.viewer_html
        case "viewer.js": bytes = PackageResources.viewer_js
        case "viewer.css": bytes = PackageResources.viewer_css
        default: return nil
        }
        return ViewerResponse(status: 200, contentType: ViewerStaticFile.contentType(of: name), body: bytes)
    }
}
