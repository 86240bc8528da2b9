import RFB
import RecordFormat

/// The viewer's routes, without sockets: a GET request target in, a ``ViewerResponse`` out.
///
/// | path | what |
/// |---|---|
/// | `/` | the page |
/// | `/viewer/NAME` | the page's script and style (built into the binary) |
/// | `/novnc/PATH` | a file of the noVNC tree (`--novnc`) |
/// | `/api/recording` | the file, its sessions, markers, gaps, damage (JSON) |
/// | `/api/sessions/N/timeline?buckets=B` | bandwidth, markers, gaps, keys, pointer, keyframes (JSON) |
/// | `/api/sessions/N/messages?from=I&limit=L` or `?at=US` | decoded RFB messages (JSON) |
/// | `/api/sessions/N/bytes?from=client&offset=O&length=L` | stream bytes as hex (JSON) |
/// | `/api/sessions/N/stream?at=US&supported=E,E…` or `?from=I&mode=M` | pieces for noVNC (``ViewerStream``) |
public struct ViewerAPI: Sendable {
    public let recording: ViewerRecording
    /// The noVNC tree served under `/novnc/`.
    public let noVNCDirectory: String

    public init(recording: ViewerRecording, noVNCDirectory: String) {
        self.recording = recording
        self.noVNCDirectory = noVNCDirectory
    }

    /// The answer to `method target`. Only GET: anything else is 405.
    public func respond(method: String, target: String) -> ViewerResponse {
        guard method == "GET" else {
            var response = ViewerResponse.error(405, "only GET is served")
            response.headers.append(("Allow", "GET"))
            return response
        }
        guard let request = ViewerRequestTarget(target) else { return .error(400, "bad request path") }
        let path = request.segments
        switch path.first {
        case nil:
            return ViewerPage.file("viewer.html") ?? .error(404, "no page")
        case "viewer" where path.count == 2:
            return ViewerPage.file(path[1]) ?? .error(404, "no such page file")
        case "novnc" where path.count > 1:
            return ViewerStaticFile.response(root: noVNCDirectory, segments: Array(path.dropFirst()))
        case "api":
            return api(Array(path.dropFirst()), request.query)
        default:
            return .error(404, "not found")
        }
    }

    private func api(_ path: [String], _ query: [String: String]) -> ViewerResponse {
        if path == ["recording"] { return .json(recording.summaryJSON().rendered) }
        guard path.count == 3, path[0] == "sessions", let number = UInt32(path[1]) else {
            return .error(404, "no such API")
        }
        let answer: ViewerResponse?? = recording.withSession(number) { session -> ViewerResponse? in
            do throws(BadNumber) {
                switch path[2] {
                case "timeline":
                    return .json(session.timelineJSON(buckets: try Self.number(query, "buckets") ?? 600).rendered)
                case "messages":
                    return .json(session.messagesJSON(
                        from: try Self.number(query, "from"), at: try Self.number(query, "at"),
                        limit: try Self.number(query, "limit") ?? 500).rendered)
                case "bytes":
                    let direction: Direction = query["from"] == "client" ? .clientToTarget : .targetToClient
                    return .json(session.bytesJSON(
                        from: direction, offset: try Self.number(query, "offset") ?? 0,
                        length: try Self.number(query, "length") ?? 256).rendered)
                case "stream":
                    return try stream(session, query)
                default:
                    return nil
                }
            } catch {
                return .error(400, "\(error.name)= is not a whole number in range: \(error.value.prefix(40))")
            }
        }
        switch answer {
        case nil: return .error(404, "no session \(number) in this recording")
        case .some(nil): return .error(404, "no such API")
        case .some(.some(let response)): return response
        }
    }

    /// A query parameter that is there but is no number of its type (or does not fit it).
    struct BadNumber: Error {
        var name: String
        var value: String
    }

    /// Query parameter `name` as a number; nil when it is absent, an error when it is not a
    /// number of `T` (a request never gets a silent default for a value it did send).
    static func number<T: FixedWidthInteger>(_ query: [String: String], _ name: String) throws(BadNumber) -> T? {
        guard let text = query[name] else { return nil }
        guard let value = T(text) else { throw BadNumber(name: name, value: text) }
        return value
    }

    private func stream(_ session: ViewerSession, _ query: [String: String]) throws(BadNumber) -> ViewerResponse {
        let stream: ViewerStream
        if let from: Int = try Self.number(query, "from") {
            guard let mode = query["mode"].flatMap(ViewerStream.Mode.init(rawValue:)) else {
                return .error(400, "from= needs mode=original or mode=keyframe")
            }
            stream = session.stream(from: from, mode: mode)
        } else {
            let at: UInt64 = try Self.number(query, "at") ?? 0
            let supported = Set((query["supported"] ?? "").split(separator: ",").compactMap { Int32($0) })
            guard let made = session.stream(at: at, supported: supported) else {
                return .error(404, "session \(session.number) has no screen yet (no ServerInit)")
            }
            stream = made
        }
        return ViewerResponse(
            status: 200, contentType: "application/octet-stream",
            headers: [("X-Viewer-Mode", stream.mode.rawValue), ("X-Viewer-Next", stream.next.map(String.init) ?? "end")],
            body: stream.encoded)
    }
}
