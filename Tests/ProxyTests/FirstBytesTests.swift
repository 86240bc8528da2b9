import Proxy
import Testing

@Suite("Telling TLS, Flash policy requests and plain HTTP apart")
struct FirstBytesTests {
    let policy = Array("<policy-file-request/>".utf8) + [0]

    @Test("a TLS record or an SSLv2-style hello is TLS from its first byte")
    func tls() {
        #expect(FirstBytes.classify([0x16]) == .tls)
        #expect(FirstBytes.classify([0x16, 0x03, 0x01]) == .tls)
        #expect(FirstBytes.classify([0x80, 0x2E]) == .tls)
    }

    @Test("nothing yet needs more")
    func empty() {
        #expect(FirstBytes.classify([UInt8]()) == .needMore)
    }

    @Test("HTTP and garbage are plain")
    func plain() {
        #expect(FirstBytes.classify(Array("GET / HTTP/1.1\r\n".utf8)) == .plain)
        #expect(FirstBytes.classify([0x00, 0x01]) == .plain)
        #expect(FirstBytes.classify([0x15]) == .plain)
    }

    @Test("the policy request is recognised at any split, and only when complete")
    func policyAtEverySplit() {
        for length in 1..<policy.count {
            #expect(FirstBytes.classify(policy.prefix(length)) == .needMore, "prefix of \(length) bytes")
        }
        #expect(FirstBytes.classify(policy) == .flashPolicyRequest)
        #expect(FirstBytes.classify(policy + Array("GET".utf8)) == .flashPolicyRequest)
    }

    @Test("something that starts like the policy request and then differs is plain")
    func almostPolicy() {
        #expect(FirstBytes.classify(Array("<policy-file-request/>X".utf8)) == .plain)
        #expect(FirstBytes.classify(Array("<p0".utf8)) == .plain)
        #expect(FirstBytes.classify(Array("<html>".utf8)) == .plain)
    }

    @Test("the policy answer allows every port and ends in NUL")
    func answer() {
        #expect(FirstBytes.policyResponse.hasSuffix("\0"))
        #expect(FirstBytes.policyResponse.contains(#"to-ports="*""#))
    }
}

@Suite("TLS settings")
struct TLSSettingsTests {
    @Test("a missing certificate file is named in the error")
    func missingFile() {
        let settings = TLSServerSettings(certificateFile: "/nonexistent/cert.pem")
        #expect {
            _ = try settings.load()
        } throws: { error in
            "\(error)".contains("/nonexistent/cert.pem") && "\(error)".contains("cannot read the certificate file")
        }
    }

    @Test("every minimum version websockify accepts has a case")
    func versions() {
        #expect(TLSServerSettings.MinimumVersion.allCases.map(\.rawValue) == ["default", "tlsv1_1", "tlsv1_2", "tlsv1_3"])
    }
}
