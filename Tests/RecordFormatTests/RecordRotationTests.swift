import Foundation
import RecordTestSupport
import Testing
import WebSocketWire

@testable import RecordFormat

/// `--record-rotate SIZE|DURATION`, the rotated and per-session file names (issue 17 §3).
@Suite("Recording rotation: sizes, durations and file names")
struct RecordRotationTests {
    @Test(
        "sizes: SI units are powers of 1000, IEC units of 1024",
        arguments: [
            ("2MB", 2_000_000), ("512KiB", 524_288), ("1GiB", 1 << 30), ("64KiB", 65_536), ("3mib", 3 << 20),
            ("100000", 100_000), ("100000B", 100_000), ("1TB", 1_000_000_000_000), ("2kB", 2000),
        ] as [(String, UInt64)])
    func sizes(text: String, bytes: UInt64) throws {
        if bytes < RecordRotation.minimumSize {
            #expect(throws: RecordFormatError.self) { try RecordRotation.parse(text) }
        } else {
            #expect(try RecordRotation.parse(text) == .size(bytes))
        }
    }

    @Test(
        "durations: s, m, h, d",
        arguments: [("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86_400), ("1s", 1)] as [(String, Int64)])
    func durations(text: String, seconds: Int64) throws {
        #expect(try RecordRotation.parse(text) == .interval(micros: seconds * 1_000_000))
    }

    @Test(
        "refused with a message that says what is accepted",
        arguments: ["", "MB", "1.5GB", "-1MB", "10x", "0s", "1KB", "2 MB", "99999999999999999999", "30S",
                    "18446744073709551615GiB", "9999999999999999h"])
    func refused(text: String) {
        #expect(throws: RecordFormatError.self) { try RecordRotation.parse(text) }
    }

    @Test("an interval rotates at whole multiples of itself since the epoch (UTC)")
    func boundaries() {
        let hour = RecordRotation.interval(micros: 3_600_000_000)
        #expect(hour.nextBoundary(after: 0) == 3_600_000_000)
        #expect(hour.nextBoundary(after: 3_600_000_000) == 7_200_000_000)
        #expect(hour.nextBoundary(after: 3_599_999_999) == 3_600_000_000)
        #expect(hour.nextBoundary(after: -1) == 0)
        #expect(RecordRotation.size(1 << 20).nextBoundary(after: 5) == nil)
        #expect(hour.nextBoundary(after: Int64.max - 5) == Int64.max)
    }

    @Test("names: BASE-YYYYmmddTHHMMSS.rec in UTC, _s0002 … _s0012 … within one second, sorting in the order made")
    func rotatedNames() {
        // 2026-12-06T09:16:05.25Z
        let wall: Int64 = 1_796_548_565_250_000
        #expect(RecordFileName.timestamp(wallMicros: wall) == "20261206T091605")
        #expect(RecordFileName.timestamp(wallMicros: 0) == "19700101T000000")
        let first = RecordFileName.rotated(base: "/var/rec/desk", wallMicros: wall, attempt: 1)
        let second = RecordFileName.rotated(base: "/var/rec/desk", wallMicros: wall, attempt: 2)
        let later = RecordFileName.rotated(base: "/var/rec/desk", wallMicros: wall + 1_000_000, attempt: 1)
        #expect(first == "/var/rec/desk-20261206T091605.rec")
        #expect(second == "/var/rec/desk-20261206T091605_s0002.rec")
        let many = (1...30).map { RecordFileName.rotated(base: "/var/rec/desk", wallMicros: wall, attempt: $0) }
        #expect(many.sorted() == many, "in the order made, also past _s0009")
        #expect(([later] + many.reversed()).sorted() == many + [later])
        // A locale's collation (glibc's en_US.UTF-8, ISO 14651) compares letters and digits first,
        // case-blind, punctuation skipped: `ls` and shell globs there must give the same order.
        func collationKey(_ name: String) -> String {
            String(name.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) })
        }
        let shuffled = [later] + many.reversed()
        #expect(shuffled.sorted { collationKey($0) < collationKey($1) } == many + [later])
    }

    @Test("per-session names taken twice sort after the first in byte order and in a locale's collation")
    func perSessionSuffixSorts() throws {
        let open = SessionOpen(startWallMicros: 1_796_548_565_250_000, requestPath: "/?token=desk")
        let names = (1...12).map { RecordFileName.perSession(directory: "/srv/rec", open: open, session: 3, attempt: $0) }
        #expect(names[1] == "/srv/rec/20261206T091605-desk-session3_s0002.rec")
        #expect(names.reversed().sorted() == names)
        let letters = names.map { String($0.lowercased().filter { $0.isLetter || $0.isNumber }) }
        #expect(letters.reversed().sorted() == letters)
    }

    @Test("per-session names: start, path-safe token, UUID")
    func perSessionNames() throws {
        let identity = try #require(SessionIdentity(uuid: Array(0..<16), instance: "host-a"))
        var open = SessionOpen(startWallMicros: 1_796_548_565_250_000, requestPath: "/", identity: identity)
        #expect(
            RecordFileName.perSession(directory: "/srv/rec", open: open, session: 3, attempt: 1)
                == "/srv/rec/20261206T091605-00010203-0405-0607-0809-0a0b0c0d0e0f.rec")
        open.target = .token("../etc/pass wd")
        #expect(
            RecordFileName.perSession(directory: "/srv/rec/", open: open, session: 3, attempt: 2)
                == "/srv/rec/20261206T091605-%2E.%2Fetc%2Fpass%20wd-00010203-0405-0607-0809-0a0b0c0d0e0f_s0002.rec")
        open.target = .hostPort("h:1")
        open.requestPath = "/websockify?a=1&token=d%2Fe+f&b=2"
        #expect(RecordFileName.token(of: open) == "d/e f")
        #expect(
            RecordFileName.perSession(directory: "/srv/rec", open: open, session: 3, attempt: 1)
                == "/srv/rec/20261206T091605-d%2Fe%20f-00010203-0405-0607-0809-0a0b0c0d0e0f.rec")
        open.requestPath = "/websockify"
        #expect(RecordFileName.token(of: open) == nil)
        open.identity = nil
        #expect(
            RecordFileName.perSession(directory: "d", open: open, session: 3, attempt: 1)
                .hasSuffix("-session3.rec"))
    }

    @Test("path-safe tokens: no '/', no leading '.', no control bytes, at most 64 bytes, escapes never cut")
    func pathSafe() {
        #expect(RecordFileName.pathSafe("desk-1_a.b") == "desk-1_a.b")
        #expect(RecordFileName.pathSafe("..") == "%2E.")
        #expect(RecordFileName.pathSafe("a/b\u{0}\n") == "a%2Fb%00%0A")
        #expect(RecordFileName.pathSafe("é") == "%C3%A9")
        let long = RecordFileName.pathSafe(String(repeating: "a", count: 62) + "//")
        #expect(long == String(repeating: "a", count: 62))
        #expect(RecordFileName.pathSafe(String(repeating: "z", count: 100)).utf8.count == 64)
    }

    @Test("identity: version 4 UUID text, written as tag 10 and read back; older readers skip it")
    func identityTag() throws {
        let identity = SessionIdentity.random(instance: "proxy-1")
        let text = identity.uuidString
        #expect(text.count == 36)
        #expect(Array(text)[14] == "4")
        #expect("89ab".contains(Array(text)[19]))
        #expect(SessionIdentity.random(instance: "proxy-1") != identity)
        let plain = SessionOpen(startWallMicros: 5, clientAddress: "c", target: .hostPort("h:1"))
        var tagged = plain
        tagged.identity = identity
        let body = RecordCodec.encodeOpen(tagged)
        let plainBody = RecordCodec.encodeOpen(plain)
        #expect(Array(body.prefix(plainBody.count)) == plainBody)
        #expect(Array(body.dropFirst(plainBody.count)) == [10, 23, 0] + identity.uuid + Array("proxy-1".utf8))
        #expect(body.withUnsafeBytes { RecordCodec.decodeOpen($0) } == tagged)
        // An unknown tag number in the same place is skipped (what a 1.3 reader does with tag 10).
        var unknown = body
        unknown[plainBody.count] = 200
        #expect(unknown.withUnsafeBytes { RecordCodec.decodeOpen($0) } == plain)
        // Shorter than a UUID: malformed, like any fixed-size tag that is not its size.
        var short = plainBody
        short += [10, 3, 0, 1, 2, 3]
        #expect(short.withUnsafeBytes { RecordCodec.decodeOpen($0) } == nil)
        #expect(identity.description == text + "@proxy-1")
    }
}
