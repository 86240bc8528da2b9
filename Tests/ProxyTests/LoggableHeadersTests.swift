import NIOHTTP1
import Testing

@testable import Proxy

/// The `-v` log of a WebSocket request's headers keeps credentials out (docs/threat-model.md).
@Suite("Loggable headers")
struct LoggableHeadersTests {
    @Test("Authorization, Proxy-Authorization, Cookie and the key are logged by length only, whatever their case")
    func secretsMasked() {
        let headers: HTTPHeaders = [
            "Host": "desk", "authorization": "Basic dXNlcjpwYXNz", "Proxy-Authorization": "Bearer abc.def",
            "COOKIE": "session=s3cr3t", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://a.example",
        ]
        let line = HandshakeHandler.loggableHeaders(headers)
        for secret in ["dXNlcjpwYXNz", "abc.def", "s3cr3t", "dGhlIHNhbXBsZSBub25jZQ=="] {
            #expect(!line.contains(secret), "\(secret) in \(line)")
        }
        #expect(line.contains("authorization: (18 bytes, not logged)"))
        #expect(line.contains("COOKIE: (14 bytes, not logged)"))
        #expect(line.contains("Host: desk") && line.contains("Origin: https://a.example"))
    }
}
