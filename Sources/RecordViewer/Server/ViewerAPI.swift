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
            switch path[2] {
            case "timeline":
                return .json(session.timelineJSON(buckets: query["buckets"].flatMap { Int($0) } ?? 600).rendered)
            case "messages":
                return .json(session.messagesJSON(
                    from: query["from"].flatMap { Int($0) }, at: query["at"].flatMap { UInt64($0) },
                    limit: query["limit"].flatMap { Int($0) } ?? 500).rendered)
            case "bytes":
                let direction: Direction = query["from"] == "client" ? .clientToTarget : .targetToClient
                return .json(session.bytesJSON(
                    from: direction, offset: query["offset"].flatMap { Int($0) } ?? 0,
                    length: query["length"].flatMap { Int($0) } ?? 256).rendered)
            case "stream":
                return stream(session, query)
            default:
                return nil
            }
        }
        switch answer {
        case nil: return .error(404, "no session \(number) in this recording")
        case .some(nil): return .error(404, "no such API")
        case .some(.some(let response)): return response
        }
    }

    private func stream(_ session: ViewerSession, _ query: [String: String]) -> ViewerResponse {
        let stream: ViewerStream
        if let from = query["from"].flatMap({ Int($0) }) {
            guard let mode = query["mode"].flatMap(ViewerStream.Mode.init(rawValue:)) else {
                return .error(400, "from= needs mode=original or mode=keyframe")
            }
            stream = session.stream(from: from, mode: mode)
        } else {
            let at = query["at"].flatMap { UInt64($0) } ?? 0
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
