import Proxy

/// A token used as a name inside a directory (`TokenFileName`, `UnixDomainSocketDirectory`): the
/// path it names must stay inside that directory, whatever the client sends.
enum TokenPath {
    /// The path `token` names under `directory`, or why it names none. Refused: an empty token, a
    /// NUL, an absolute path, and `.`, `..` or empty components; with `subdirectories` false, any `/`.
    static func resolve(_ token: String, in directory: String, subdirectories: Bool) -> Result<String, TokenPathError> {
        guard !token.isEmpty else { return .failure(.init(reason: "empty")) }
        guard !token.utf8.contains(0) else { return .failure(.init(reason: "contains a NUL byte")) }
        let components = token.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, !subdirectories { return .failure(.init(reason: "contains '/'")) }
        for component in components {
            if component.isEmpty { return .failure(.init(reason: "has an empty path component (a leading, doubled or trailing '/')")) }
            if component == "." || component == ".." { return .failure(.init(reason: "has a '\(component)' path component")) }
        }
        return .success(directory.hasSuffix("/") ? directory + token : directory + "/" + token)
    }

    /// The path `token` names under `directory` when it exists and is of `kind`; otherwise the
    /// refusal: 404 (unknown token) for a refused token or a path that is missing or of another
    /// kind, 503 when the directory itself is gone or can't be read. Blocks (`stat`).
    static func locate(
        _ token: String, in directory: String, subdirectories: Bool, kind: FileKind, store summary: String
    ) -> Result<String, RequestRefusal> {
        let path: String
        switch resolve(token, in: directory, subdirectories: subdirectories) {
        case .success(let resolved): path = resolved
        case .failure(let error): return .failure(.unknownToken(token, store: "\(summary): the token \(error.reason)"))
        }
        switch FileKind.of(path) {
        case .success(kind): return .success(path)
        case .success: return .failure(.unknownToken(token, store: "\(summary): \(path) is not a \(kind)"))
        case .failure(let error) where error.isMissing:
            if case .success(.directory) = FileKind.of(directory) { return .failure(.unknownToken(token, store: summary)) }
            return .failure(.tokenStoreUnavailable("cannot read token source \(directory): the directory is gone"))
        case .failure(let error): return .failure(.tokenStoreUnavailable("cannot use \(path): \(error.description)"))
        }
    }
}

/// Why a token names no path inside the directory.
struct TokenPathError: Error, Equatable {
    var reason: String
}
