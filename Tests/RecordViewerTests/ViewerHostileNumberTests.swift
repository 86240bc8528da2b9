import Foundation
import RecordFormat
import Testing

@testable import RecordViewer

/// Numbers the viewer is given by a request or by the recording itself: none may trap it (a GET
/// from any page the user has open, or one odd record, would end the server). A parameter that is
/// no number of its type is a 400; times near 2^64 are worked with without overflowing.
@Suite struct ViewerHostileNumberTests {
    static let maxU64 = "18446744073709551615"
    static let maxInt = "9223372036854775807"
    static let minInt = "-9223372036854775808"

    /// Every numeric parameter of every endpoint, with values at and past its type's ends.
    static let targets: [(target: String, statuses: Set<Int>)] = {
        var targets: [(String, Set<Int>)] = []
        for value in [maxU64, maxInt, minInt, "0", "-1"] {
            let unsigned: Set<Int> = value.hasPrefix("-") ? [400] : [200]
            let signed: Set<Int> = value == maxU64 ? [400] : [200]
            targets += [
                ("/api/sessions/1/timeline?buckets=\(value)", signed),
                ("/api/sessions/1/messages?from=\(value)", signed),
                ("/api/sessions/1/messages?at=\(value)", unsigned),
                ("/api/sessions/1/messages?at=\(value)&limit=\(value)", unsigned.union(signed).count == 1 ? unsigned : [400]),
                ("/api/sessions/1/messages?limit=\(value)", signed),
                ("/api/sessions/1/bytes?from=client&offset=\(value)&length=\(value)", signed),
                ("/api/sessions/1/bytes?offset=\(value)", signed),
                ("/api/sessions/1/stream?at=\(value)", unsigned),
                ("/api/sessions/1/stream?at=\(value)&supported=0,1,\(value)", unsigned),
                ("/api/sessions/1/stream?from=\(value)&mode=original", signed),
                ("/api/sessions/1/stream?from=\(value)&mode=keyframe", signed),
                ("/api/sessions/\(value)/timeline", [404]),
            ]
        }
        for bad in ["18446744073709551616", "99999999999999999999999", "1e3", "0x10", "", "abc", " 1"] {
            for parameter in ["timeline?buckets", "messages?from", "messages?at", "messages?limit", "bytes?offset",
                "bytes?length", "stream?at", "stream?from"]
            {
                let mode = parameter == "stream?from" ? "&mode=original" : ""
                targets.append(("/api/sessions/1/\(parameter)=\(bad)\(mode)", [400]))
            }
        }
        return targets
    }()

    @Test func everyParameterAtAndPastItsRangeIsAnsweredWithoutATrap() {
        let api = ViewerAPI(recording: ViewerTestSession.recording(), noVNCDirectory: "/usr/share/novnc")
        for (target, statuses) in Self.targets {
            let response = api.respond(method: "GET", target: target)
            #expect(statuses.contains(response.status), "\(target) -> \(response.status)")
            if response.status == 400 {
                #expect(String(decoding: response.body, as: UTF8.self).contains("is not a whole number"))
            }
        }
    }

    /// The test session, then a Bell and an unknown server message (a decoding problem) with
    /// times near 2^64 (the format allows any U64; readers call them out of range).
    static func lateRecording() -> ViewerRecording {
        let recording = ViewerRecording(path: "late.rec", keyframeIntervalMicros: 5_000_000)
        recording.began(format: .native, following: false)
        var records = ViewerTestSession.records(close: false)
        records.append(ViewerTestSession.server(UInt64.max - 10, [2]))
        records.append(ViewerTestSession.server(UInt64.max - 1, [250, 0, 0, 0]))
        records.append(ViewerTestSession.client(UInt64.max, [5, 0, 0, 1, 0, 1]))
        for record in records { recording.apply(.record(record)) }
        recording.finishReading()
        return recording
    }

    @Test func recordedTimesNear2To64AreShownWithoutATrap() throws {
        let api = ViewerAPI(recording: Self.lateRecording(), noVNCDirectory: "/usr/share/novnc")
        let timeline = api.respond(method: "GET", target: "/api/sessions/1/timeline")
        try #require(timeline.status == 200, "\(String(decoding: timeline.body, as: UTF8.self))")
        let object = try #require(JSONSerialization.jsonObject(with: Data(timeline.body)) as? [String: Any])
        #expect((object["bucket_us"] as? NSNumber)?.uint64Value ?? 0 > UInt64.max / 601)
        for (target, status) in Self.targets where status == [200] {
            let response = api.respond(method: "GET", target: target)
            #expect(response.status == 200, "\(target) -> \(response.status)")
        }
        for target in ["/api/recording", "/api/sessions/1/messages?at=\(Self.maxU64)"] {
            #expect(api.respond(method: "GET", target: target).status == 200, "\(target)")
        }
        // The stream from the last chunk (time 2^64 - 10) on.
        let count = try #require(Self.lateRecording().withSession(1) { $0.serverChunks.count })
        for mode in ["original", "keyframe"] {
            for from in [count - 2, count - 1, count] {
                let target = "/api/sessions/1/stream?from=\(from)&mode=\(mode)"
                #expect(api.respond(method: "GET", target: target).status == 200, "\(target)")
            }
        }
    }

    @Test func secondsAsMicrosecondsSaturate() {
        #expect(UInt64(microsecondsSaturating: -1) == 0)
        #expect(UInt64(microsecondsSaturating: .nan) == 0)
        #expect(UInt64(microsecondsSaturating: 1.5) == 1_500_000)
        #expect(UInt64(microsecondsSaturating: Double(UInt64.max) / 1e6) == .max)
        #expect(UInt64(microsecondsSaturating: .infinity) == .max)
        #expect(UInt64.max.plusSaturating(1) == .max && UInt64(1).plusSaturating(2) == 3)
    }
}
