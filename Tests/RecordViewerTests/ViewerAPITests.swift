import Foundation
import RecordFormat
import Testing

@testable import RecordViewer

@Suite struct ViewerAPITests {
    let api = ViewerAPI(recording: ViewerTestSession.recording(), noVNCDirectory: "/usr/share/novnc")

    func json(_ target: String) throws -> [String: Any] {
        let response = api.respond(method: "GET", target: target)
        try #require(response.status == 200, "\(target): \(String(decoding: response.body, as: UTF8.self))")
        #expect(response.contentType == "application/json")
        return try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func onlyGET() {
        for method in ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"] {
            let response = api.respond(method: method, target: "/api/recording")
            #expect(response.status == 405)
            #expect(response.headers.contains { $0 == ("Allow", "GET") })
        }
    }

    @Test(arguments: [
        "/novnc/../../etc/passwd", "/novnc/%2e%2e/%2e%2e/etc/passwd", "/novnc/core/..%2f..%2fetc%2fpasswd",
        "/novnc/core/%2F..%2Fetc", "/novnc//etc/passwd", "/novnc/./core/rfb.js", "/novnc/core%00/rfb.js", "novnc/x",
        "/novnc/%zz",
    ])
    func noPathEscapes(target: String) {
        let response = api.respond(method: "GET", target: target)
        #expect(response.status == 400 || response.status == 404, "\(target) -> \(response.status)")
        #expect(!String(decoding: response.body, as: UTF8.self).contains("root:"))
    }

    @Test func thePageIsBuiltIn() {
        let page = api.respond(method: "GET", target: "/")
        #expect(page.status == 200 && page.contentType.hasPrefix("text/html"))
        #expect(String(decoding: page.body, as: UTF8.self).contains("/viewer/viewer.js"))
        let script = api.respond(method: "GET", target: "/viewer/viewer.js")
        #expect(script.contentType.hasPrefix("text/javascript"))
        #expect(String(decoding: script.body, as: UTF8.self).contains("class FakeChannel"))
        #expect(api.respond(method: "GET", target: "/viewer/other.js").status == 404)
    }

    @Test func recordingLists() throws {
        let object = try json("/api/recording")
        #expect(object["format"] as? String == "websockify-swift")
        let sessions = try #require(object["sessions"] as? [[String: Any]])
        #expect(sessions.count == 1)
        let rfb = try #require(sessions[0]["rfb"] as? [String: Any])
        #expect(rfb["name"] as? String == "test" && rfb["width"] as? Int == 6 && rfb["height"] as? Int == 4)
        #expect(sessions[0]["target"] as? String == "127.0.0.1:5900")
        #expect((sessions[0]["closed"] as? [String: Any])?["by"] as? String == "client")
        #expect(api.respond(method: "GET", target: "/api/sessions/9/timeline").status == 404)
        #expect(api.respond(method: "GET", target: "/api/sessions/1/nothing").status == 404)
    }

    @Test func timelineHasBandwidthActivityAndMarkers() throws {
        let timeline = try json("/api/sessions/1/timeline?buckets=8")
        let target = try #require(timeline["target_bytes"] as? [Int])
        let client = try #require(timeline["client_bytes"] as? [Int])
        #expect(target.count == 8 && client.count == 8)
        let records = ViewerTestSession.records()
        func total(_ direction: Direction) -> Int {
            records.reduce(0) { sum, record in
                guard case .frame(let frame) = record.body, frame.direction == direction else { return sum }
                return sum + frame.payload.count
            }
        }
        #expect(target.reduce(0, +) == total(.targetToClient))
        #expect(client.reduce(0, +) == total(.clientToTarget))
        let keys = try #require(timeline["keys"] as? [[String: Any]])
        #expect(keys.map { $0["down"] as? Bool } == [true, false])
        #expect(keys.first?["t"] as? Int == 2_000_000)
        let pointer = try #require(timeline["pointer"] as? [[String: Any]])
        #expect(pointer.first?["x"] as? Int == 3 && pointer.first?["buttons"] as? Int == 1)
        #expect((timeline["markers"] as? [[String: Any]])?.first?["text"] as? String == "after the copy")
        // The first keyframe is the (black) screen of ServerInit, the next one 5 s later at the
        // first chunk that changed the screen.
        #expect(timeline["keyframes"] as? [Int] == [70, 6_000_000])
    }

    @Test func messagesAndTheirBytes() throws {
        let all = try json("/api/sessions/1/messages?from=0&limit=100")
        let messages = try #require(all["messages"] as? [[String: Any]])
        #expect(messages.first?["type"] as? String == "ProtocolVersion")
        let update = try #require(messages.first { $0["type"] as? String == "FramebufferUpdate" && $0["t"] as? Int == 6_000_000 })
        #expect(update["from"] as? String == "target")
        let offset = try #require(update["offset"] as? Int)
        let bytes = try json("/api/sessions/1/bytes?from=target&offset=\(offset)&length=4")
        #expect(bytes["hex"] as? String == "00000002")
        let around = try json("/api/sessions/1/messages?at=6000000&limit=4")
        let window = try #require(around["messages"] as? [[String: Any]])
        #expect(window.count == 4)
        #expect(window.contains { $0["t"] as? Int == 6_000_000 })
    }

    @Test func streamResponses() throws {
        let response = api.respond(method: "GET", target: "/api/sessions/1/stream?at=6500000&supported=0,1")
        #expect(response.status == 200 && response.contentType == "application/octet-stream")
        #expect(response.headers.contains { $0 == ("X-Viewer-Mode", "keyframe") })
        #expect(response.headers.contains { $0 == ("X-Viewer-Next", "end") })
        let pieces = try #require(ViewerStream.decodePieces(response.body))
        #expect(pieces.first?.bytes == Array("RFB 003.008\n".utf8))
        #expect(api.respond(method: "GET", target: "/api/sessions/1/stream?from=2").status == 400)
    }
}
