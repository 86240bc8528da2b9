/// One fuzz target: a parser driven by arbitrary bytes, checking invariants as well as "no trap".
struct FuzzTarget: Sendable {
    /// The name `scripts/fuzz` and `wsfuzz` take, and the corpus directory's (`Fuzz/Corpus/<name>`).
    var name: String
    /// One line: what is parsed and which invariants are checked.
    var summary: String
    /// Runs one input; a broken invariant stops the process (``FuzzCheck/require(_:_:file:line:)``),
    /// which libFuzzer reports as a crash and saves as a reproducer.
    var run: @Sendable ([UInt8]) -> Void
    /// Runs once before the first input: makes what a target keeps for all inputs (keys, files),
    /// so that LeakSanitizer does not take it for memory an input leaked.
    var prepare: @Sendable () -> Void = {}
    /// libFuzzer options this target always runs with (before any given on the command line).
    var libFuzzerOptions: [String] = []

    /// Every target, in the order `--list` prints them.
    static let all: [FuzzTarget] = [
        HTTPHandshakeTarget.target,
        ClientFramesTarget.target,
        ClientFramesDeflateTarget.target,
        ProxyProtocolTarget.target,
        RFBSessionTarget.target,
        RFBClientStreamTarget.target,
        RFBDecoderTarget.target,
        RecordStreamTarget.target,
        RecordFileTarget.target,
        LegacyRecordingTarget.target,
        TokenFileTarget.target,
        JWTTarget.target,
        RESPTarget.target,
    ]

    /// Not listed: `scripts/fuzz` runs it on ``selfCheckInput`` before fuzzing and requires the run
    /// to fail, which proves that a broken invariant stops wsfuzz and fails the step.
    static let selfCheck = FuzzTarget(name: "self-check", summary: "breaks its invariant on one known input") { bytes in
        FuzzCheck.require(bytes != selfCheckInput, "the self-check input (a planted failure)")
    }
    static let selfCheckInput = Array("wsfuzz self-check".utf8)

    static func named(_ name: String) -> FuzzTarget? { (all + [selfCheck]).first { $0.name == name } }
}
