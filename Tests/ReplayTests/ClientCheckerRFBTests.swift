import RFB
import RFBRules
import RecordFormat
import Testing

@testable import Replay

/// RFB checking on decoded messages: wording, rules, and keeping going after a divergence.
struct ClientCheckerRFBTests {
    /// SetEncodings [H.264, Raw, CopyRect, ExtendedClipboard]: noVNC 1.7's longer list, in short.
    let newerEncodings: [UInt8] = [2, 0, 0, 4, 0, 0, 0, 50, 0, 0, 0, 0, 0, 0, 0, 1, 0xC0, 0xA1, 0xE5, 0xCE]

    /// A recorded RFB session: handshake, SetEncodings [Raw, CopyRect] and a full update request,
    /// then each key pressed and released, each followed by an (empty) update.
    func typing(_ keys: [UInt32]) -> RecordedSession {
        var frames: [(UInt64, Direction, [UInt8])] = [
            (0, t2c, rfbServerGreeting), (5, c2t, rfbServerGreeting), (6, t2c, rfbSecurityTypes), (7, c2t, [1]),
            (8, t2c, rfbSecurityResult), (9, c2t, [1]), (10, t2c, rfbServerInit),
            (11, c2t, rfbSetEncodings + fbur(false, 0, 0, 800, 600)),
        ]
        var ms: UInt64 = 100
        for keysym in keys {
            frames += [(ms, c2t, key(true, keysym)), (ms + 10, c2t, key(false, keysym)), (ms + 20, t2c, [0, 0, 0, 0])]
            ms += 100
        }
        return makeSession(frames, closedBy: .client)
    }

    /// The client's handshake against the replayed server, then `rest` (each element one read).
    func play(_ checker: inout ClientChecker, encodings: [UInt8]? = nil, _ rest: [[UInt8]]) -> [Divergence] {
        var found: [Divergence] = []
        let steps: [([UInt8], [UInt8])] = [
            (rfbServerGreeting, rfbServerGreeting), (rfbSecurityTypes, [1]), (rfbSecurityResult, [1]),
            (rfbServerInit, (encodings ?? rfbSetEncodings) + fbur(false, 0, 0, 800, 600)),
        ]
        for (server, client) in steps {
            found += checker.serverBytes(server, atMicros: 0)
            found += checker.clientBytes(client, atMicros: 0)
        }
        for part in rest { found += checker.clientBytes(part, atMicros: 2_000_000) }
        return found
    }

    func keys(_ keysyms: [UInt32]) -> [[UInt8]] { keysyms.flatMap { [key(true, $0), key(false, $0)] } }

    @Test func aChangedKeyIsNamedAndTheKeysAfterItAreStillChecked() throws {
        var checker = ClientChecker(session: typing([0x6c, 0x6f, 0x73]), rfb: true)  // "los"
        let found = play(&checker, keys([0x6c, 0x70, 0x73]))  // "lps"
        #expect(found.count == 2, "\(found.map(\.message))")
        let down = try #require(found.first)
        // Handshake 14 bytes + SetEncodings 12 + FBUR 10 + 'l' down and up 16.
        #expect(
            down.message
                == "expected KeyEvent 'o' (0x6f) down, got KeyEvent 'p' (0x70) down at client offset 52, record #12, 0.200 s")
        #expect(down.kind == .mismatch && down.change == .changed)
        #expect(down.recordedMessage == "KeyEvent 'o' (0x6f) down" && down.actualMessage == "KeyEvent 'p' (0x70) down")
        #expect(down.clientMessage == 7)  // version, choice, init, SetEncodings, FBUR, 'l' down and up
        // The excerpts are the two messages, no more.
        #expect(down.recordedHex == "04 01 00 00 00 00 00 6f" && down.actualHex == "04 01 00 00 00 00 00 70")
        #expect(found[1].message.hasPrefix("expected KeyEvent 'o' (0x6f) up, got KeyEvent 'p' (0x70) up"))
        // 's' after the changed key is still matched: the client is past every unit.
        #expect(checker.matchedUnits == checker.units.count)
        #expect(checker.checkedMessages == 10 && checker.sameMessages == 8 && checker.allowedMessages == 0)
        #expect(checker.finish(atMicros: 3_000_000).isEmpty)
    }

    @Test func setEncodingsDifferencesAreWordedAndRulesAllowThem() throws {
        var strict = ClientChecker(session: typing([0x61]), rfb: true)
        let found = play(&strict, encodings: newerEncodings, keys([0x61]))
        let d = try #require(found.first)
        #expect(found.count == 1)
        #expect(d.message.hasPrefix("SetEncodings differs: added H.264, ExtendedClipboard; removed —; order kept at client offset 14"))
        #expect(strict.sameMessages == 5, "the keys after the SetEncodings are still matched")

        for allow in ["SetEncodings", "SetEncodings:superset"] {
            var allowed = ClientChecker(session: typing([0x61]), rfb: true, rules: try RFBRuleSet.parse(allow: [allow]))
            #expect(play(&allowed, encodings: newerEncodings, keys([0x61])).isEmpty, "\(allow)")
            #expect(allowed.allowedMessages == 1 && allowed.sameMessages == 5)
        }
        // A list that drops CopyRect is not a superset.
        var superset = ClientChecker(
            session: typing([0x61]), rfb: true, rules: try RFBRuleSet.parse(allow: ["SetEncodings:superset"]))
        let dropped = play(&superset, encodings: [2, 0, 0, 2, 0, 0, 0, 50, 0, 0, 0, 0], keys([0x61]))
        #expect(dropped.first?.message.hasPrefix("SetEncodings differs: added H.264; removed CopyRect; order kept") == true)
    }

    @Test func aMissingKeyIsReportedAndHoldsTheClientsProgress() throws {
        var checker = ClientChecker(session: typing([0x6c, 0x73, 0x0a]), rfb: true)
        // The client's keyboard dropped 'l': it goes on with 's' and newline.
        var found = play(&checker, keys([0x73, 0x0a]))
        #expect(found.isEmpty, "not yet: 'l' may still come, out of order")
        let firstKey = try #require(checker.units.firstIndex { $0.name == "KeyEvent" })
        #expect(checker.matchedUnits == firstKey, "frames recorded after 'l' must wait for it")
        found = checker.finish(atMicros: 5_000_000)
        #expect(found.map(\.change) == [.missing, .missing])
        #expect(found.first?.message.hasPrefix("expected KeyEvent 'l' (0x6c) down, got nothing (the client went on without it)") == true)
        #expect(checker.sameMessages == 8)
    }

    @Test func aKeyThatNeverComesTimesOutAsMissing() throws {
        var checker = ClientChecker(session: typing([0x61]), rfb: true)
        #expect(play(&checker, []).isEmpty)
        let index = checker.matchedUnits
        let d = try #require(checker.timedOut(waitingFor: index, seconds: 10, atMicros: 11_000_000).first)
        #expect(d.change == .missing && d.message.hasPrefix("expected KeyEvent 'a' (0x61) down, got nothing (not within 10.000 s)"))
        #expect(checker.matchedUnits == index, "a missing message keeps holding what depends on it")
        let rest = checker.finish(atMicros: 12_000_000)
        #expect(rest.map(\.message).first?.contains("KeyEvent 'a' (0x61) up, got nothing before the session ended") == true)
    }

    @Test func extraAndReorderedMessagesAreClassified() throws {
        var checker = ClientChecker(session: typing([0x61, 0x62]), rfb: true)
        // 'b' down before 'a' down, and an 'x' press the recording does not have.
        let found = play(
            &checker, [key(true, 0x62), key(true, 0x61), key(false, 0x61), key(false, 0x62)] + keys([0x78]))
        #expect(found.map(\.change) == [.reordered, .reordered, .extra, .extra], "\(found.map(\.message))")
        #expect(found.first?.kind == .reordered)
        #expect(
            found.first?.message.hasPrefix(
                "KeyEvent 'a' (0x61) down out of the recorded order (recorded as client message #5, sent after client message #7)")
                == true)
        #expect(found[2].message.hasPrefix("unexpected KeyEvent 'x' (0x78) down, which the recording does not have here"))
        #expect(checker.finish(atMicros: 0).isEmpty)
        #expect(checker.matchedUnits == checker.units.count)
    }

    @Test func stopAtFirstKeepsTheOldBehaviour() {
        var checker = ClientChecker(session: typing([0x6c, 0x6f, 0x73]), rfb: true, stopAtFirst: true)
        let found = play(&checker, keys([0x6c, 0x70, 0x73]))
        #expect(found.count == 1 && found.first?.change == .changed)
        #expect(checker.diverged)
        #expect(checker.finish(atMicros: 0).isEmpty)
    }

    @Test func ignoredTypesAndPerMessageExceptionsComeFromTheRules() throws {
        var rules = try RFBRuleSet.parse(ignore: ["KeyEvent"])
        var ignoring = ClientChecker(session: typing([0x61]), rfb: true, rules: rules)
        #expect(!ignoring.units.contains { $0.name == "KeyEvent" })
        #expect(play(&ignoring, keys([0x7a, 0x7a, 0x7a])).isEmpty)
        #expect(ignoring.freeMessages == 1 + 6)  // the FBUR and the keys
        rules = RFBRuleSet()
        try rules.apply(text: "messages: [{index: 5, rule: allow}, {index: 6, rule: allow}]", source: "t")
        var excepted = ClientChecker(session: typing([0x61]), rfb: true, rules: rules)
        #expect(play(&excepted, keys([0x62])).isEmpty)
        #expect(excepted.allowedMessages == 2)
    }

    @Test func qemuKeyEventsAndFencesAreFollowed() throws {
        let qemuKey: [UInt8] = [255, 0, 0, 1, 0, 0, 0, 0x71, 0, 0, 0, 0x10]
        let fence: [UInt8] = [248, 0, 0, 0, 0, 0, 0, 3, 0]
        let session = makeSession(
            [
                (0, t2c, rfbServerGreeting), (5, c2t, rfbServerGreeting), (6, t2c, rfbSecurityTypes), (7, c2t, [1]),
                (8, t2c, rfbSecurityResult), (9, c2t, [1]), (10, t2c, rfbServerInit),
                (11, c2t, rfbSetEncodings + fence + qemuKey + key(true, 0x61)),
            ], closedBy: .client)
        var checker = ClientChecker(session: session, rfb: true)
        #expect(checker.units.map(\.name).suffix(3) == ["ClientFence", "QEMUExtendedKeyEvent", "KeyEvent"])
        var other = qemuKey
        other[7] = 0x77
        let found = play(&checker, [fence, other, key(true, 0x61)])
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("expected QEMUExtendedKeyEvent 'q' (0x71) keycode 0x10 down, got QEMUExtendedKeyEvent 'w' (0x77)") == true)
        #expect(checker.matchedUnits == checker.units.count)
    }
}
