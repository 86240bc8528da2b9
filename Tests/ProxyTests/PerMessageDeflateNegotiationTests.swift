import Proxy
import Testing

/// RFC 7692 §7.1: which offers the proxy accepts, and what it answers.
@Suite("permessage-deflate negotiation")
struct PerMessageDeflateNegotiationTests {
    @Test(
        "valid offers are accepted with the answer RFC 7692 asks for",
        arguments: [
            ("permessage-deflate", "permessage-deflate"),
            ("permessage-deflate; client_max_window_bits", "permessage-deflate"),
            ("permessage-deflate; client_max_window_bits=10", "permessage-deflate"),
            ("permessage-deflate; client_max_window_bits=8", "permessage-deflate"),
            ("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10"),
            ("permessage-deflate; server_max_window_bits=\"12\"", "permessage-deflate; server_max_window_bits=12"),
            ("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9"),
            ("permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"),
            ("permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"),
            (
                "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=15; client_max_window_bits",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15"
            ),
            ("  Permessage-Deflate ;  Server_No_Context_Takeover ", "permessage-deflate; server_no_context_takeover"),
        ])
    func accepted(offer: String, answer: String) throws {
        let agreed = try #require(PerMessageDeflate.negotiate([offer]))
        #expect(agreed.responseHeaderValue == answer)
    }

    @Test("the agreed parameters say what each side does")
    func parameters() throws {
        let agreed = try #require(
            PerMessageDeflate.negotiate(["permessage-deflate; server_max_window_bits=11; client_no_context_takeover"]))
        #expect(agreed.serverMaxWindowBits == 11)
        #expect(agreed.clientNoContextTakeover)
        #expect(!agreed.serverNoContextTakeover)
        let plain = try #require(PerMessageDeflate.negotiate(["permessage-deflate"]))
        #expect(plain.serverMaxWindowBits == 15 && !plain.serverNoContextTakeover && !plain.clientNoContextTakeover)
    }

    @Test(
        "invalid offers, and offers the proxy cannot honour, are declined",
        arguments: [
            // Not this extension, or no offer at all.
            "x-webkit-deflate-frame", "", "deflate-frame; server_no_context_takeover",
            // A value where none is allowed.
            "permessage-deflate; server_no_context_takeover=1", "permessage-deflate; client_no_context_takeover=true",
            // server_max_window_bits needs a value of 8 to 15 (8: zlib cannot compress with it).
            "permessage-deflate; server_max_window_bits", "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=7", "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08", "permessage-deflate; server_max_window_bits=abc",
            "permessage-deflate; server_max_window_bits=", "permessage-deflate; server_max_window_bits=\"1 2\"",
            "permessage-deflate; server_max_window_bits=-9", "permessage-deflate; server_max_window_bits=+9",
            // client_max_window_bits with a bad value.
            "permessage-deflate; client_max_window_bits=16", "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=0x0f", "permessage-deflate; client_max_window_bits=\"\"",
            // Repeated parameters.
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            // Unknown parameters and broken syntax.
            "permessage-deflate; mux", "permessage-deflate;", "permessage-deflate; =10",
            "permessage-deflate; server_max_window_bits=\"10", "permessage-deflate; server max window bits",
        ])
    func declined(offer: String) {
        #expect(PerMessageDeflate.negotiate([offer]) == nil, "\(offer)")
    }

    @Test("of several offers the first the proxy can honour is taken, across header lines")
    func severalOffers() throws {
        let skipping = try #require(
            PerMessageDeflate.negotiate([
                "permessage-deflate; server_max_window_bits=8, permessage-deflate; foo, permessage-deflate; server_max_window_bits=10, permessage-deflate"
            ]))
        #expect(skipping.responseHeaderValue == "permessage-deflate; server_max_window_bits=10")
        let lines = try #require(
            PerMessageDeflate.negotiate([
                "x-webkit-deflate-frame", "permessage-deflate; client_max_window_bits=16",
                "permessage-deflate; client_no_context_takeover",
            ]))
        #expect(lines.responseHeaderValue == "permessage-deflate; client_no_context_takeover")
        // A comma inside a quoted value does not split offers.
        #expect(PerMessageDeflate.negotiate(["permessage-deflate; server_max_window_bits=\"1,0\""]) == nil)
        // Empty list elements are skipped.
        #expect(PerMessageDeflate.negotiate([", ,permessage-deflate"]) != nil)
    }
}
