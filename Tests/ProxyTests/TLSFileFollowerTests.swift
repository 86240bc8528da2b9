import ServiceSupport
import Testing

@testable import Proxy

/// When the certificate files are read again: decided from stamps and times alone (no files, no sockets).
@Suite("Following the certificate files")
struct TLSFileFollowerTests {
    static let second: UInt64 = 1_000_000_000
    static let start: UInt64 = 50 * second

    static func stamp(_ path: String, inode: UInt64 = 7, size: Int64 = 1200, mtime: Int = 1000) -> FileStamp {
        FileStamp(path: path, inode: inode, size: size, mtime: (mtime, 0), ctime: (mtime, 0))
    }

    /// A certificate and a key file, as loaded at start-up.
    static let original: TLSFileFollower.Stamps = [stamp("cert.pem"), stamp("key.pem", inode: 8, size: 240)]

    static func follower() -> TLSFileFollower { TLSFileFollower(inService: original, at: start) }

    @Test("files whose stamps did not change are not read again")
    func unchanged() {
        let follower = Self.follower()
        #expect(follower.decide(Self.original, forced: false) == .keep)
    }

    @Test("a new inode (rename into place), a new size or a new mtime (written in place) means reading again")
    func changed() {
        let follower = Self.follower()
        let renamed: TLSFileFollower.Stamps = [Self.stamp("cert.pem", inode: 99), Self.original[1]]
        let resized: TLSFileFollower.Stamps = [Self.original[0], Self.stamp("key.pem", inode: 8, size: 241)]
        let touched: TLSFileFollower.Stamps = [Self.stamp("cert.pem", mtime: 1001), Self.original[1]]
        let missing: TLSFileFollower.Stamps = [Self.original[0], nil]
        for observed in [renamed, resized, touched, missing] {
            #expect(follower.decide(observed, forced: false) == .load, "\(observed)")
        }
    }

    @Test("a version that loaded is the one compared with from then on")
    func loadedVersionIsInService() {
        var follower = Self.follower()
        let renewed: TLSFileFollower.Stamps = [Self.stamp("cert.pem", inode: 99), Self.stamp("key.pem", inode: 100)]
        follower.loaded(renewed)
        #expect(follower.inService == renewed)
        #expect(follower.decide(renewed, forced: false) == .keep)
        #expect(follower.decide(Self.original, forced: false) == .load)
    }

    @Test("a broken version keeps the one in service, is reported once, and is not read again until it changes")
    func brokenVersionKeepsTheOldOne() {
        var follower = Self.follower()
        let garbage: TLSFileFollower.Stamps = [Self.stamp("cert.pem", size: 17, mtime: 1001), Self.original[1]]
        #expect(follower.decide(garbage, forced: false) == .load)
        let firstReport = follower.failed(garbage, forced: false)
        #expect(firstReport, "the first failure of a version is reported")
        #expect(follower.inService == Self.original, "the version in service stays")
        // Next checks: the same broken files are neither read nor reported again.
        #expect(follower.decide(garbage, forced: false) == .keep)
        let secondReport = follower.failed(garbage, forced: false)
        #expect(!secondReport, "the same broken version again: not reported")
        // Another broken version (half-written, then complete but for the wrong key) is reported too.
        let wrongKey: TLSFileFollower.Stamps = [Self.stamp("cert.pem", size: 1300, mtime: 1002), Self.original[1]]
        #expect(follower.decide(wrongKey, forced: false) == .load)
        let wrongKeyReport = follower.failed(wrongKey, forced: false)
        #expect(wrongKeyReport)
        // Fixed: read, in service, and a later breakage with the earlier stamps would be new again.
        let fixed: TLSFileFollower.Stamps = [Self.stamp("cert.pem", size: 1300, mtime: 1003), Self.stamp("key.pem", mtime: 1003)]
        #expect(follower.decide(fixed, forced: false) == .load)
        follower.loaded(fixed)
        #expect(follower.inService == fixed)
        #expect(follower.rejected == nil)
        #expect(follower.decide(garbage, forced: false) == .load)
    }

    @Test("SIGHUP reads the files even when unchanged, and reports a broken version again")
    func forced() {
        var follower = Self.follower()
        #expect(follower.decide(Self.original, forced: true) == .load)
        let garbage: TLSFileFollower.Stamps = [Self.stamp("cert.pem", size: 17, mtime: 1001), Self.original[1]]
        let firstReport = follower.failed(garbage, forced: false)
        #expect(firstReport)
        #expect(follower.decide(garbage, forced: true) == .load)
        let signalReport = follower.failed(garbage, forced: true)
        #expect(signalReport, "someone asked: say again why")
    }

    @Test("new connections look at the files at most once a second")
    func atMostOnceASecond() {
        var follower = Self.follower()
        let second = Self.second
        // Connections at these times (after the start-up load), and whether each looks at the files.
        let connections: [(at: UInt64, looks: Bool, why: String)] = [
            (Self.start, false, "just loaded"),
            (Self.start + second - 1, false, "not yet a second"),
            (Self.start + second, true, "a second after the load"),
            (Self.start + second, false, "another connection in the same instant"),
            (Self.start + second + second / 2, false, "half a second after the last look"),
            (Self.start + 5 * second, true, "after a quiet spell, the next connection"),
        ]
        for connection in connections {
            let looks = follower.connectionShouldCheck(at: connection.at)
            #expect(looks == connection.looks, "\(connection.why)")
        }
        var checks = 0
        for millisecond in 0..<3000 {
            if follower.connectionShouldCheck(at: Self.start + 6 * second + UInt64(millisecond) * 1_000_000) {
                checks += 1
            }
        }
        #expect(checks == 3, "a connection every millisecond for 3 s: 3 looks")
    }
}
