import Foundation
import Testing

@testable import RecordViewer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The DNS-rebinding guard: only Host values naming loopback, an IP literal or the --listen host
/// (with the listening port) are answered; a forged one gets a 403 from the real server.
@Suite struct ViewerHostCheckTests {
    @Test func loopbackNamesAndIPLiteralsWithThePortAreAccepted() {
        let check = ViewerHostCheck(listenHost: "127.0.0.1", port: 8070)
        for host in ["127.0.0.1:8070", "localhost:8070", "LocalHost.:8070", "[::1]:8070", "app.localhost:8070",
            "192.168.1.5:8070", "[fe80::1]:8070"]
        {
            #expect(check.allows([host]), "\(host)")
        }
        #expect(check.allows([]), "no Host header (HTTP/1.0)")
        for host in ["evil.example:8070", "evil.example", "localhost:8071", "localhost", "127.0.0.1:80",
            "localhost.evil.example:8070", "127.0.0.1.evil.example:8070", "1.2.3:8070", "256.1.1.1:8070",
            "[::1:8070", "localhost:99999", "localhost:", ":8070", "a:b:c", ""]
        {
            #expect(!check.allows([host]), "\(host)")
        }
        #expect(!check.allows(["localhost:8070", "localhost:8070"]), "two Host headers")
        #expect(ViewerHostCheck(listenHost: "127.0.0.1", port: 80).allows(["localhost"]))
    }

    @Test func theListenHostIsAcceptedByName() {
        let check = ViewerHostCheck(listenHost: "Viewer.LAN", port: 9000)
        #expect(check.allows(["viewer.lan:9000"]))
        #expect(!check.allows(["other.lan:9000"]))
        #expect(ViewerHostCheck(listenHost: "::1", port: 9000).allows(["[::1]:9000"]))
    }

    /// One HTTP/1.1 GET with `host` to 127.0.0.1:`port`; the status code and the body.
    static func get(port: Int, host: String, path: String) throws -> (Int, String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        try #require(write(fd, request, request.count) == request.count)
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, text)
    }

    @Test func aForgedHostGets403FromTheServer() throws {
        let api = ViewerAPI(recording: ViewerTestSession.recording(), noVNCDirectory: "/usr/share/novnc")
        let server = try ViewerServer(api: api, host: "127.0.0.1", port: 0)
        defer { try? server.close() }
        let port = try #require(server.port)
        let (good, body) = try Self.get(port: port, host: "127.0.0.1:\(port)", path: "/api/recording")
        #expect(good == 200)
        #expect(body.contains("\"sessions\""))
        #expect(try Self.get(port: port, host: "localhost:\(port)", path: "/api/recording").0 == 200)
        for forged in ["evil.example:\(port)", "evil.example", "localhost:1"] {
            let (status, text) = try Self.get(port: port, host: forged, path: "/api/recording")
            #expect(status == 403, "\(forged)")
            #expect(text.contains("DNS rebinding"))
            #expect(!text.contains("\"sessions\""))
        }
    }
}
