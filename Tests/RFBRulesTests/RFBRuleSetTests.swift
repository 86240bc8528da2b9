import Foundation
import RFB
import RFBRules
import Testing

@Suite struct RFBRuleSetTests {
    let old: [RFBEncoding] = [.tight, .zrle, .raw, .desktopSize]
    let new: [RFBEncoding] = [.h264, .zrle, .tight, .raw, .desktopSize, .extendedClipboard]

    @Test func defaultsLeaveUpdateRequestsAndPointerEventsOutAndCheckTheRest() {
        let rules = RFBRuleSet.standard
        #expect(rules.isIgnored(.framebufferUpdateRequest(incremental: true, x: 0, y: 0, width: 1, height: 1)))
        #expect(rules.isIgnored(.pointerEvent(buttons: 0, x: 1, y: 2, extended: false)))
        #expect(rules.compare(recorded: .setEncodings(old), actual: .setEncodings(new)) == .different)
        #expect(rules.compare(recorded: .setEncodings(old), actual: .setEncodings(old)) == .same)
        #expect(!rules.allowsMissing(.keyEvent(down: true, keysym: RFBKeysym(0x6f))))
        #expect(rules.summary.isEmpty)
    }

    @Test func allowAnyAcceptsAnyListAndSupersetOnlyAdditions() throws {
        let any = try RFBRuleSet.parse(allow: ["SetEncodings"])
        #expect(any.compare(recorded: .setEncodings(old), actual: .setEncodings([.raw])) == .allowed)
        #expect(any.allowsMissing(.setEncodings(old)))
        let superset = try RFBRuleSet.parse(allow: ["setencodings:superset"])
        #expect(superset.compare(recorded: .setEncodings(old), actual: .setEncodings(new)) == .allowed)
        #expect(superset.compare(recorded: .setEncodings(old), actual: .setEncodings([.raw])) == .different)
        #expect(!superset.allowsMissing(.setEncodings(old)))
        #expect(superset.summary == ["allow (superset) SetEncodings"])
        // An allowed type is still not another type.
        #expect(any.compare(recorded: .setEncodings(old), actual: .keyEvent(down: true, keysym: RFBKeysym(1))) == .different)
    }

    @Test func ignoreAndAllowOtherTypes() throws {
        let rules = try RFBRuleSet.parse(allow: ["ClientCutText"], ignore: ["KeyEvent"])
        #expect(rules.isIgnored(.keyEvent(down: true, keysym: RFBKeysym(0x61))))
        let a = RFBMessage.clientCutText(.text(length: 1, prefix: [0x61]))
        let b = RFBMessage.clientCutText(.text(length: 1, prefix: [0x62]))
        #expect(rules.compare(recorded: a, actual: b) == .allowed)
        #expect(rules.allowsExtra(b))
    }

    @Test func badOptionsSayWhatIsAccepted() {
        #expect(throws: RFBRuleError.self) { try RFBRuleSet.parse(allow: ["SetEncoding"]) }
        #expect(throws: RFBRuleError.self) { try RFBRuleSet.parse(allow: ["KeyEvent:superset"]) }
        #expect(throws: RFBRuleError.self) { try RFBRuleSet.parse(allow: ["SetEncodings:subset"]) }
        do {
            _ = try RFBRuleSet.parse(ignore: ["Pointer"])
            Issue.record("an unknown name was accepted")
        } catch {
            #expect(error.message.contains("--ignore Pointer: not an RFB message name"))
            #expect(error.message.contains("PointerEvent"))
        }
    }

    @Test func rulesFileInYAMLWithPerMessageExceptions() throws {
        var rules = RFBRuleSet()
        try rules.apply(
            text: """
                # 1.3 recording, 1.7 client
                allow: [SetEncodings:superset]
                ignore:
                  - ClientCutText
                check: [PointerEvent]
                messages:
                  - {index: 12, rule: ignore}
                  - {index: 14, rule: allow, session: 2}
                """, source: "rules.yaml")
        let key = RFBMessage.keyEvent(down: true, keysym: RFBKeysym(0x6f))
        #expect(rules.isIgnored(key, index: 12))
        #expect(!rules.isIgnored(key, index: 13))
        #expect(!rules.isIgnored(.pointerEvent(buttons: 0, x: 0, y: 0, extended: false)))
        let other = RFBMessage.keyEvent(down: true, keysym: RFBKeysym(0x70))
        #expect(rules.compare(recorded: key, actual: other, index: 14, session: 2) == .allowed)
        #expect(rules.compare(recorded: key, actual: other, index: 14, session: 1) == .different)
        #expect(rules.summary.contains("session 2 client message #14: allow"))
    }

    @Test func rulesFileInJSONAndItsErrors() throws {
        var rules = RFBRuleSet()
        try rules.apply(text: #"{"allow": ["SetEncodings"], "messages": [{"index": 3, "rule": "check"}]}"#, source: "r.json")
        #expect(rules.compare(recorded: .setEncodings(old), actual: .setEncodings(new)) == .allowed)
        #expect(rules.compare(recorded: .setEncodings(old), actual: .setEncodings(new), index: 3) == .different)
        for (text, expected) in [
            (#"{"alow": ["SetEncodings"]}"#, "unknown key 'alow'"),
            (#"{"allow": "SetEncodings"}"#, "wrong type at allow"),
            (#"{"messages": [{"index": 1, "rule": "skip"}]}"#, "messages[0]: rule must be"),
            (#"{"messages": [{"rule": "allow"}]}"#, "missing key 'index'"),
            ("allow: [: :", "r.json"),
        ] {
            var fresh = RFBRuleSet()
            do {
                try fresh.apply(text: text, source: "r.json")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-rules-\(UUID()).yaml").path
        #expect(throws: RFBRuleError.self) { try RFBRuleSet.parse(rulesFile: missing) }
    }

    @Test func encodingDifferencesReadAsAddedRemovedAndOrder() {
        #expect(
            RFBMessageDifference.describe(recorded: .setEncodings(old), actual: .setEncodings(new))
                == "SetEncodings differs: added H.264, ExtendedClipboard; removed —; order changed")
        #expect(
            RFBMessageDifference.encodings(recorded: old, actual: [.tight, .raw, .desktopSize])
                == "added —; removed ZRLE; order kept")
        #expect(
            RFBMessageDifference.describe(
                recorded: .keyEvent(down: true, keysym: RFBKeysym(0x6f)), actual: .keyEvent(down: true, keysym: RFBKeysym(0x70)))
                == "expected KeyEvent 'o' (0x6f) down, got KeyEvent 'p' (0x70) down")
    }
}
