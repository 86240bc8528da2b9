// The entry point of `wsfuzz`: `wsfuzz TARGET [libFuzzer options and corpus directories]`, or
// `wsfuzz --list`.
//
// SwiftPM renames an executable's entry point to `<target>_main` and links with
// `--defsym main=wsfuzz_main`, so libFuzzer's own `main` is never used: this one selects the target,
// drops its name from the arguments and hands the rest to libFuzzer's driver.

#if canImport(Glibc)
    import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The target the driver runs (set once, before the driver starts; libFuzzer runs inputs on one thread).
nonisolated(unsafe) var selectedTarget: FuzzTarget?

@_cdecl("wsfuzz_main")
func wsfuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    guard let argv, argc >= 2, let first = argv[1] else {
        printError("usage: wsfuzz TARGET [libFuzzer options] [CORPUS_DIR...] | wsfuzz --list")
        return 2
    }
    let name = String(cString: first)
    if name == "--seed-rfb" {
        return RFBSeeds.write(arguments: (2..<Int(argc)).map { String(cString: argv[$0]!) })
    }
    if name == "--list" {
        for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
        return 0
    }
    guard let target = FuzzTarget.named(name) else {
        printError("wsfuzz: no target '\(name)' (wsfuzz --list names them)")
        return 2
    }
    selectedTarget = target
    target.prepare()
    // argv without the target's name, with the target's own options before the caller's (a later
    // option wins): libFuzzer reads argv[0], then options and directories.
    let options = target.libFuzzerOptions.map { strdup($0) }
    let list = [argv[0]] + options + (2..<Int(argc)).map { argv[$0] } + [nil]
    let kept = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: list.count)
    kept.initialize(from: list, count: list.count)
    var count = CInt(list.count - 1)
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = kept
    return LLVMFuzzerRunDriver(&count, &arguments, runSelected)
}

/// libFuzzer's callback: one input to the selected target.
private func runSelected(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selectedTarget else { fatalError("wsfuzz: no target selected (run wsfuzz TARGET …)") }
    target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The name libFuzzer's runtime expects to find at link time; the driver above is what calls the
/// target, so this only forwards to it.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    runSelected(data, size)
}
