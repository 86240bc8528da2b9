import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import _NIOFileSystem
import Proxy
import ServiceSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Serves the files under one directory on the proxy's port (`--web`): GET and HEAD, index files,
/// directory listings (unless `fileOnly`), `Last-Modified` and `If-Modified-Since`, files streamed
/// chunk by chunk with backpressure.
///
/// Which file a request names is decided by ``WebPathResolver`` (on NIO's blocking thread pool);
/// files are read with NIOFileSystem. Keep-alive follows HTTP/1.1: HTTP/1.0 requests and
/// `Connection: close` close the connection after the response.
public struct StaticFileServer: WebResponder {
    public let configuration: WebConfiguration
    public let resolver: WebPathResolver
    private let logLabel: String

    /// Fails with a ``ProxyError`` when the root cannot be served (missing, not a directory,
    /// unreadable). Log lines go to a logger labelled `logLabel`, made when a request is logged
    /// (so after the program has set its logging system up).
    public init(configuration: WebConfiguration, logLabel: String = "websockify.web") throws {
        self.configuration = configuration
        self.resolver = try WebPathResolver(configuration: configuration)
        self.logLabel = logLabel
    }

    public func respond(to request: ConnectionRequest, channel: any Channel) -> EventLoopFuture<Bool> {
        channel.eventLoop.makeFutureWithTask {
            await serve(request, on: channel)
        }
    }

    /// What one response needs besides the request.
    private struct Response: Sendable {
        let channel: any Channel
        let request: ConnectionRequest
        let keepAlive: Bool
        let writeTimeout: TimeAmount
        let logger: Logger
        /// "CLIENT: METHOD URI", for log lines.
        let what: String
        var isHead: Bool { request.head.method == .HEAD }

        /// Writes and flushes `part`; closes the connection when the write has not completed
        /// within ``WebConfiguration/writeTimeout`` (the failed write then ends the response).
        func write(_ part: HTTPServerResponsePart) async throws {
            let (channel, logger, what, timeout) = (channel, logger, what, writeTimeout)
            let stalled = channel.eventLoop.scheduleTask(in: timeout) {
                let seconds = Duration.nanoseconds(timeout.nanoseconds).formattedSeconds
                logger.info("\(what): the client read nothing for \(seconds); closing the connection")
                channel.close(promise: nil)
            }
            defer { stalled.cancel() }
            try await channel.writeAndFlush(part)
        }

        /// The same response, closing the connection afterwards.
        var closing: Response {
            Response(channel: channel, request: request, keepAlive: false, writeTimeout: writeTimeout, logger: logger, what: what)
        }

        /// The headers every response carries.
        func headers(_ extra: [(String, String)]) -> HTTPHeaders {
            var headers = HTTPHeaders(extra)
            headers.add(name: "Server", value: "websockify-swift")
            headers.add(name: "Date", value: HTTPDate.format(Int(time(nil))))
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            return headers
        }

        func writeHead(_ status: HTTPResponseStatus, _ extra: [(String, String)]) async throws {
            try await write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers(extra))))
        }

        /// A whole response with a small body held in memory (errors, redirects, listings).
        func send(_ status: HTTPResponseStatus, contentType: String, body: String, _ extra: [(String, String)] = [])
            async throws
        {
            var buffer = channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            try await writeHead(
                status, [("Content-Type", contentType), ("Content-Length", "\(buffer.readableBytes)")] + extra)
            if !isHead, buffer.readableBytes > 0 {
                try await write(.body(.byteBuffer(buffer)))
            }
            try await write(.end(nil))
        }
    }

    /// Answers `request`; true when the connection may carry another one.
    private func serve(_ request: ConnectionRequest, on channel: any Channel) async -> Bool {
        let head = request.head
        let logger = Logger(label: logLabel)
        let keepAlive = head.version.major == 1 && head.version.minor >= 1 && head.isKeepAlive
        let what = "\(request.clientAddress): \(head.method) \(head.uri)"
        var response = Response(
            channel: channel, request: request, keepAlive: keepAlive, writeTimeout: configuration.writeTimeout, logger: logger,
            what: what)
        do {
            guard head.method == .GET || head.method == .HEAD else {
                logger.info("\(what): 405 method not allowed")
                try await response.send(
                    .methodNotAllowed, contentType: "text/plain; charset=utf-8", body: "Method not allowed.\n",
                    [("Allow", "GET, HEAD")])
                return keepAlive
            }
            let resolver = self.resolver
            let target = try await NIOThreadPool.singleton.runIfActive { resolver.resolve(target: head.uri) }
            switch target {
            case .refused(let refusal):
                logger.info("\(what): \(refusal.status.code) \(refusal.logMessage)")
                // A target we cannot even parse ends the connection; a missing file does not.
                if refusal.status == .badRequest { response = response.closing }
                try await response.send(
                    refusal.status, contentType: "text/plain; charset=utf-8", body: refusal.message + "\n",
                    refusal.headers.map { ($0.name, $0.value) })
            case .redirect(let location):
                logger.debug("\(what): 301 to \(location)")
                try await response.send(
                    .movedPermanently, contentType: "text/plain; charset=utf-8", body: "Moved to \(location)\n",
                    [("Location", location)])
            case .listing(let directory, let path):
                let entries: [DirectoryListing.Entry]
                do {
                    entries = try await Self.entries(of: directory)
                } catch {
                    logger.info("\(what): 403 cannot list \(directory): \(error)")
                    try await response.send(.forbidden, contentType: "text/plain; charset=utf-8", body: "Forbidden.\n")
                    return response.keepAlive
                }
                let page = DirectoryListing.render(path: path, entries: entries)
                logger.debug("\(what): 200 listing of \(directory)")
                try await response.send(.ok, contentType: "text/html; charset=utf-8", body: page)
            case .file(let path):
                return try await sendFile(path, response, logger: logger, what: what)
            }
            return response.keepAlive
        } catch {
            // Nothing sensible can follow a failed write or a file that broke off mid-response.
            logger.debug("\(what): response broken off: \(error)")
            return false
        }
    }

    private func sendFile(_ path: String, _ response: Response, logger: Logger, what: String) async throws -> Bool {
        let opened: ReadFileHandle
        do {
            // The path is canonical: a symbolic link in its place now is a race, and refused.
            opened = try await FileSystem.shared.openFile(
                forReadingAt: FilePath(path), options: OpenOptions.Read(followSymbolicLinks: false))
        } catch let error as FileSystemError {
            let status: HTTPResponseStatus = error.code == .notFound ? .notFound : .forbidden
            logger.info("\(what): \(status.code) cannot open \(path): \(error.message)")
            let message = status == .notFound ? "Not found.\n" : "Forbidden.\n"
            try await response.send(status, contentType: "text/plain; charset=utf-8", body: message)
            return response.keepAlive
        }
        let result: Result<Bool, any Error>
        do {
            result = .success(try await stream(opened, path: path, response, logger: logger, what: what))
        } catch {
            result = .failure(error)
        }
        try? await opened.close()
        return try result.get()
    }

    private func stream(_ file: ReadFileHandle, path: String, _ response: Response, logger: Logger, what: String)
        async throws -> Bool
    {
        let info = try await file.info()
        guard info.type == .regular else {
            logger.info("\(what): 403 \(path) is not a regular file")
            try await response.send(.forbidden, contentType: "text/plain; charset=utf-8", body: "Forbidden.\n")
            return response.keepAlive
        }
        let modified = info.lastDataModificationTime.seconds
        let lastModified = HTTPDate.format(modified)
        if let since = response.request.head.headers.first(name: "if-modified-since").flatMap(HTTPDate.parse),
            modified <= since
        {
            logger.debug("\(what): 304 not modified")
            try await response.writeHead(.notModified, [("Last-Modified", lastModified)])
            try await response.write(.end(nil))
            return response.keepAlive
        }
        let size = info.size
        try await response.writeHead(
            .ok,
            [
                ("Content-Type", MIMETypes.contentType(forPath: path)), ("Content-Length", "\(size)"),
                ("Last-Modified", lastModified),
            ])
        if response.isHead {
            try await response.write(.end(nil))
            logger.debug("\(what): 200 (head of \(size) bytes)")
            return response.keepAlive
        }
        var sent: Int64 = 0
        // Each chunk is written, and its write completed, before the next is asked for: the
        // socket's pace sets the reading's.
        for try await chunk in file.readChunks(in: 0..<size, chunkLength: .bytes(Int64(configuration.chunkSize))) {
            sent += Int64(chunk.readableBytes)
            try await response.write(.body(.byteBuffer(chunk)))
        }
        guard sent == size else {
            // The file shrank while it was sent: the promised length can't be kept.
            logger.warning("\(what): \(path) ended after \(sent) of \(size) bytes; closing the connection")
            return false
        }
        try await response.write(.end(nil))
        logger.debug("\(what): 200 \(size) bytes")
        return response.keepAlive
    }

    /// The names in `directory`, with whether each is a directory.
    private static func entries(of directory: String) async throws -> [DirectoryListing.Entry] {
        try await FileSystem.shared.withDirectoryHandle(atPath: FilePath(directory)) { handle in
            var entries: [DirectoryListing.Entry] = []
            for try await batch in handle.listContents().batched() {
                for entry in batch {
                    entries.append(DirectoryListing.Entry(name: entry.name.string, isDirectory: entry.type == .directory))
                }
            }
            return entries
        }
    }
}
