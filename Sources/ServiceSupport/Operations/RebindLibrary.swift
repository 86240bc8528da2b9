#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finds `librebind.so` (the `rebind` product, from `Sources/CRebind`) for a wrapped program.
public enum RebindLibrary {
    /// The file SwiftPM builds for the `rebind` product.
    public static let fileName = "librebind.so"
    /// Set to a path to use that library instead of searching.
    public static let overrideVariable = "WEBSOCKIFY_REBIND_LIBRARY"

    /// Where the library is looked for, in order, for an executable at `executablePath`: beside it
    /// (`swift build`, `swift run`, `.build/release`), then in an install prefix's
    /// `lib/websockify/` and `lib/` (for `PREFIX/bin/websockify`).
    public static func candidates(executablePath: String) -> [String] {
        let directory = executablePath.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        let bin = directory.isEmpty ? "." : directory
        return [
            "\(bin)/\(fileName)",
            "\(bin)/../lib/websockify/\(fileName)",
            "\(bin)/../lib/\(fileName)",
        ]
    }

    /// The library to preload: the override variable's path if set, else the first candidate found.
    public static func locate(
        executablePath: String? = currentExecutable(),
        environment: [String: String],
        isReadable: (String) -> Bool = { access($0, R_OK) == 0 }
    ) throws -> String {
        if let override = environment[overrideVariable], !override.isEmpty {
            guard isReadable(override) else {
                throw OperationsError.wrap(
                    "\(overrideVariable)=\(override): no readable file there; point it at the \(fileName) that `swift build` made, or unset it"
                )
            }
            return absolute(override)
        }
        let searched = executablePath.map(candidates(executablePath:)) ?? []
        if let found = searched.first(where: isReadable) {
            return absolute(found)
        }
        throw OperationsError.wrap(
            "\(fileName) not found (looked in \(searched.joined(separator: ", "))); build it with `swift build` (or `swift build --product rebind`), or set \(overrideVariable)"
        )
    }

    /// This process's executable, symbolic links resolved.
    public static func currentExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path` made absolute against the working directory, `..` resolved where possible.
    static func absolute(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        return path
    }
}
