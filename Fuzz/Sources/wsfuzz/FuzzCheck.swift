#if canImport(Glibc)
    import Glibc
#endif

/// Invariant checks of the fuzz targets.
enum FuzzCheck {
    /// Stops the process with `message` when `condition` is false. libFuzzer catches the trap,
    /// prints the input's stack and writes it as `crash-…`.
    static func require(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        if !condition() {
            printError("wsfuzz: invariant broken at \(file):\(line): \(message())")
            fatalError("invariant broken: \(message())", file: file, line: line)
        }
    }
}

/// Writes `text` and a newline to standard error (unbuffered: it comes before libFuzzer's report).
func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
