import NIOCore
import Proxy

/// What the static web server (`--web`) serves, and how.
public struct WebConfiguration: Sendable {
    /// The directory served. Requests never reach anything outside it (see ``WebPathResolver``).
    public var root: String
    /// No directory listings (`--file-only`): a directory without an index file answers 404.
    public var fileOnly: Bool
    /// Bytes read from a file and handed to the connection at a time. The next chunk is written
    /// only once the previous one has reached the socket, so a download holds a few chunks of
    /// memory whatever the file's size; 256 KiB matches the proxy's largest socket read.
    public var chunkSize: Int
    /// Served for a directory when present, the first one found wins.
    public var indexFiles: [String]
    /// A write (a chunk, a header block) that has not reached the socket this long closes the
    /// connection and its file: a client that stopped reading would otherwise hold both forever.
    /// 30 s: far longer than a live client's stall, short enough not to pile up idle downloads.
    public var writeTimeout: TimeAmount

    public init(
        root: String, fileOnly: Bool = false, chunkSize: Int = 256 << 10, indexFiles: [String] = ["index.html", "index.htm"],
        writeTimeout: TimeAmount = .seconds(30)
    ) {
        self.root = root
        self.fileOnly = fileOnly
        self.chunkSize = chunkSize
        self.indexFiles = indexFiles
        self.writeTimeout = writeTimeout
    }
}
